"""Which nonpeaks train the bias model, and the bias model's default options.

The bias model must learn the enzyme's sequence preference, not accessibility, so it trains on
background regions ("nonpeaks") with little signal. The official rule (``find_bias_hyperparams``):

1. ``threshold = quantile(peak totals, 0.01) * bias_threshold_factor`` over the train+valid peaks
   (:func:`data_prep.bias_threshold`; factor 0.5 for ATAC-seq, 0.8 for DNase-seq by convention);
2. the train+valid nonpeaks with total counts strictly below the threshold are the candidates;
3. outlier filter: keep nonpeaks whose totals lie strictly between the ``1 - q`` and ``q``
   quantiles of the candidates' totals (``q = 0.9999``). Because the upper bound lies below the
   threshold this also applies step 2; because the bound is strict, when the lowest quantile is 0
   (common: many background windows hold no read) every zero-count nonpeak is dropped too;
4. counts loss weight: median of the kept totals / 10, floored at 1 (:func:`data_prep.counts_loss_weight`).

Test-chromosome nonpeaks are not filtered (they are only evaluated). The bias model then trains on
the kept nonpeaks only, every one of them each epoch, centred (no jitter), with half of them
reverse-complemented: ``data_prep.training_dataset(None, kept_nonpeak_windows, max_jitter=0, ...)``.

Totals are sums of the per-base counts over the centred ``output_length`` window.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from baselines.bpnet import BIAS_MODEL_OPTIONS
from data_prep.errors import InputError
from data_prep.filters import bias_threshold, counts_loss_weight, outlier_filter
from data_prep.windows import CHROMBPNET_INPUT_LENGTH, CHROMBPNET_OUTPUT_LENGTH, Windows

BIAS_THRESHOLD_FACTORS = {"ATAC": 0.5, "DNASE": 0.8}
"""Conventional ``bias_threshold_factor`` per assay (the official README's recommended start values)."""

BIAS_MODEL_DEFAULTS = BIAS_MODEL_OPTIONS
"""The official bias model: BPNet, 128 filters, 4 dilated layers, names without prefix.

Declared on the ``bpnet`` registry entry (``bias_defaults``). The bias training's defaults are those of
``dream_keras.tasks.atac.parameters.BiasTrainParameters``.
"""

class BiasNonpeaks(NamedTuple):
    """Result of :func:`select_bias_nonpeaks`.

    Attributes:
        keep: bool ``(n_nonpeaks,)``, the nonpeaks the bias model trains (and validates) on.
        threshold: the count threshold (0.01 quantile of peak totals x factor); kept totals are below it.
        lower: the lower outlier bound (kept totals lie strictly between the bounds).
        upper: the upper outlier bound.
        counts_loss_weight: median of the kept totals / 10, at least 1.0.
        n_below_threshold: nonpeaks below the threshold before the outlier filter.
    """

    keep: np.ndarray
    threshold: float
    lower: float
    upper: float
    counts_loss_weight: float
    n_below_threshold: int


def bias_threshold_factor(assay: str) -> float:
    """The conventional factor for ``assay`` (``"ATAC"`` 0.5, ``"DNASE"`` 0.8; case-insensitive)."""
    key = str(assay).upper().replace("-SEQ", "")
    if key not in BIAS_THRESHOLD_FACTORS:
        raise InputError(f"unknown assay {assay!r}; known: {', '.join(BIAS_THRESHOLD_FACTORS)} "
                         "(or pass bias_threshold_factor explicitly)")
    return BIAS_THRESHOLD_FACTORS[key]


def select_bias_nonpeaks(peak_totals, nonpeak_totals, bias_threshold_factor: float = 0.5,
                         outlier_quantile: float = 0.9999) -> BiasNonpeaks:
    """The train+valid nonpeaks the bias model learns from (see the module docstring for the rule).

    Args:
        peak_totals: ``(n_peaks,)`` total counts of the train+valid peaks over the output window
            (edge-filtered at ``input_length``, not outlier-filtered).
        nonpeak_totals: ``(n_nonpeaks,)`` total counts of the train+valid nonpeaks.
        bias_threshold_factor: 0.5 for ATAC, 0.8 for DNase (:func:`bias_threshold_factor`); raise it
            if the bias model's count predictions anti-correlate with peak signal (see ``bias_models.qc``).
        outlier_quantile: the upper quantile of the outlier filter (the lower is ``1 - q``).

    Returns:
        :class:`BiasNonpeaks`.

    Raises:
        InputError: No peaks, a non-positive threshold, or no nonpeak left (the message says which knob to turn).
    """
    peak_totals = np.asarray(peak_totals, dtype=np.float64).ravel()
    nonpeak_totals = np.asarray(nonpeak_totals, dtype=np.float64).ravel()
    threshold = bias_threshold(peak_totals, bias_threshold_factor)
    below = nonpeak_totals[nonpeak_totals < threshold]
    if below.size == 0:
        raise InputError(f"none of the {nonpeak_totals.size} nonpeaks has total counts below the bias threshold "
                         f"{threshold:g} (0.01 quantile of peak totals x bias_threshold_factor "
                         f"{bias_threshold_factor:g}); raise bias_threshold_factor or supply more background regions")
    kept = outlier_filter(nonpeak_totals, outlier_quantile, reference=below)
    if not kept.keep.any():
        raise InputError(f"the outlier filter (totals strictly between {kept.lower:g} and {kept.upper:g}) left no "
                         f"nonpeak of the {below.size} below the bias threshold {threshold:g}: they all have the same "
                         "total (often 0 reads); raise bias_threshold_factor or supply deeper data")
    return BiasNonpeaks(kept.keep, threshold, kept.lower, kept.upper,
                        counts_loss_weight(nonpeak_totals[kept.keep]), int(below.size))


def keep_windows(windows: Windows, keep) -> Windows:
    """The windows where ``keep`` (bool ``(n,)``) is true (e.g. ``select_bias_nonpeaks(...).keep``)."""
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != (len(windows.sequences),):
        raise InputError(f"keep mask has shape {keep.shape} but there are {len(windows.sequences)} windows")
    counts = windows.counts[keep] if windows.counts is not None else None
    return Windows(windows.sequences[keep], counts, windows.regions[keep].reset_index(drop=True), windows.dropped)


def bias_model_options(input_length: int = CHROMBPNET_INPUT_LENGTH, output_length: int = CHROMBPNET_OUTPUT_LENGTH,
                       **overrides) -> dict:
    """Options of the official bias model for :func:`dream_keras.build_model`.

    ``build_model("bpnet", **bias_model_options())`` builds BPNet with 128 filters, 4 dilated
    layers, layer names without prefix (``bpnet_1st_conv``, ..., ``logcount_predictions``, as in
    the official ``bias.h5``), input 2,114 bp and output 1,000 bp. ``overrides`` replace any of
    these (e.g. ``filters=8`` for a test).
    """
    return {**BIAS_MODEL_DEFAULTS, "input_length": int(input_length), "output_length": int(output_length),
            **overrides}


def build_bias_model(input_length: int = CHROMBPNET_INPUT_LENGTH, output_length: int = CHROMBPNET_OUTPUT_LENGTH,
                     **overrides):
    """``dream_keras.build_model("bpnet", "profile_count", **bias_model_options(...))``."""
    from dream_keras.model import build_model

    return build_model("bpnet", "profile_count", **bias_model_options(input_length, output_length, **overrides))
