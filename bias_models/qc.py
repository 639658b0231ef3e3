"""Bias-model quality checks of the official ChromBPNet pipeline, as numbers and verdicts.

1. :func:`count_qc` / :func:`bias_count_qc`: Pearson correlation of the bias model's log-counts with
   ``log(1 + observed totals)`` on peaks. A bias model that learnt GC/AT content instead of the
   enzyme's preference anti-correlates with peak strength; the official pipeline stops when
   ``r <= -0.5`` and its report asks for ``r > -0.3``.
2. :func:`footprint_qc`: the largest response of the bias-free model to the enzyme's own motifs
   (Tn5 consensus ``tn5_1..5`` for ATAC, DNase consensus ``dnase_1..2`` for DNase) inserted at the
   centre of test-chromosome nonpeaks. The footprint is ChromBPNet's normalised one
   (:attr:`dream_keras.interpret.Footprint.normalized_profile`: per sequence, forward plus flipped
   reverse-complement expected counts divided by their sum, so each sequence's profile sums to 1
   and a flat profile is ``1 / output_length``; then averaged over sequences). The official code
   rounds each motif's maximum to 3 decimals and calls the model "corrected" when every rounded
   maximum is below 0.003 (3x uniform at 1,000 positions); otherwise "uncorrected" (the bias model
   did not remove the enzyme signal: retrain it, e.g. with another ``bias_threshold_factor``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from data_prep.errors import InputError
from dream_keras.metrics import pearson_r

#: Official bounds on the bias model's count Pearson r in peaks.
PEAK_PEARSON_FAIL = -0.5
PEAK_PEARSON_WARN = -0.3
#: Official bound on the bias-free model's normalised footprint maximum (after rounding to 3 decimals).
FOOTPRINT_THRESHOLD = 0.003
FOOTPRINT_DECIMALS = 3
#: the smallest unrounded maximum that fails (it rounds to the threshold): 0.0025
FOOTPRINT_FAILS_FROM = FOOTPRINT_THRESHOLD - 0.5 * 10 ** -FOOTPRINT_DECIMALS
#: Enzyme motif files shipped in data_prep/data/motifs, by assay.
ENZYME_MOTIF_FILES = {"ATAC": "tn5_consensus.tsv", "DNASE": "dnase_consensus.tsv"}

class CountQC(NamedTuple):
    """Result of :func:`count_qc`.

    Attributes:
        pearsonr: the count Pearson r in peaks (NaN when undefined).
        verdict: ``"pass"`` (r > -0.3), ``"warn"`` (-0.5 < r <= -0.3) or ``"fail"`` (r <= -0.5 or undefined).
        message: one line for the training report.
    """

    pearsonr: float
    verdict: str
    message: str


class FootprintQC(NamedTuple):
    """Result of :func:`footprint_qc`.

    Attributes:
        max_by_motif: ``{motif name: max of the normalised footprint}`` (unrounded).
        verdict: ``"corrected"`` or ``"uncorrected"``.
        message: one line for the training report.
        footprints: ``{name: dream_keras.interpret.Footprint}`` (profiles for plots).
    """

    max_by_motif: dict
    verdict: str
    message: str
    footprints: dict


def count_qc(pred_logcounts, peak_totals) -> CountQC:
    """The count check from predictions already made.

    Args:
        pred_logcounts: ``(n,)`` or ``(n, 1)`` bias-model log-counts on peaks.
        peak_totals: ``(n,)`` observed total counts of the same peaks over the output window.
    """
    predicted = np.asarray(pred_logcounts, dtype=np.float64).ravel()
    observed = np.log1p(np.asarray(peak_totals, dtype=np.float64).ravel())
    if predicted.shape != observed.shape or predicted.size < 2:
        raise InputError(f"count QC needs one prediction per peak and at least 2 peaks; got {predicted.size} "
                         f"predictions and {observed.size} totals")
    r = pearson_r(observed, predicted)
    if not np.isfinite(r):
        return CountQC(r, "fail", "bias model count Pearson r in peaks is undefined (constant predictions or "
                                  "totals); the official pipeline would stop here")
    if r <= PEAK_PEARSON_FAIL:
        return CountQC(r, "fail", f"bias model count Pearson r in peaks is {r:.3f} <= {PEAK_PEARSON_FAIL}: it "
                                  "anti-correlates with peak strength (likely learnt GC/AT content); the official "
                                  "pipeline stops here. Retrain with a higher bias_threshold_factor")
    if r <= PEAK_PEARSON_WARN:
        return CountQC(r, "warn", f"bias model count Pearson r in peaks is {r:.3f}, between {PEAK_PEARSON_FAIL} and "
                                  f"{PEAK_PEARSON_WARN}: check that the bias-free model's motifs are not mostly "
                                  "GC-rich")
    return CountQC(r, "pass", f"bias model count Pearson r in peaks is {r:.3f} > {PEAK_PEARSON_WARN}")


def bias_count_qc(bias_model, peak_sequences, peak_totals, *, batch_size: int = 64, progress: bool = False) -> CountQC:
    """Predict the bias model's log-counts on peaks and run :func:`count_qc`.

    Args:
        bias_model: model with a ``logcounts`` output.
        peak_sequences: one-hot ``(n, input_length, 4)`` of centred peaks (the official pipeline uses
            its filtered peaks of all splits; the log-count offset of :func:`bias_models.scale_bias_logcounts`
            does not change r).
        peak_totals: ``(n,)`` their observed totals over the output window.
        batch_size: sequences per model call.
        progress: show a progress bar.
    """
    from dream_keras.interpret.predict import predict_outputs

    predicted = predict_outputs(bias_model, peak_sequences, batch_size=batch_size, progress=progress,
                                desc="bias log-counts")["logcounts"]
    return count_qc(predicted, peak_totals)


def enzyme_motifs(assay: str = "ATAC") -> dict[str, str]:
    """The enzyme consensus motifs of ``assay`` shipped with data_prep.

    ``{name: sequence}`` (ATAC: ``tn5_1``..``tn5_5``; DNase: ``dnase_1``, ``dnase_2``).
    """
    from data_prep.motifs import bundled_motif_path
    from dream_keras.interpret.motif_sequences import read_consensus_tsv

    key = str(assay).upper().replace("-SEQ", "")
    if key not in ENZYME_MOTIF_FILES:
        raise InputError(f"unknown assay {assay!r} for the footprint QC; known: {', '.join(ENZYME_MOTIF_FILES)} "
                         "(or pass motifs={name: sequence})")
    return read_consensus_tsv(bundled_motif_path(ENZYME_MOTIF_FILES[key]))


def footprint_reaches_threshold(value: float) -> bool:
    """Whether a normalised footprint maximum fails the official check.

    It fails when, rounded to 3 decimals, it is not below 0.003 (so 0.0026 fails; NaN fails too).
    """
    return not round(float(value), FOOTPRINT_DECIMALS) < FOOTPRINT_THRESHOLD


def footprint_verdict(max_by_motif: dict) -> tuple[str, str]:
    """The verdict of the footprint check from normalised footprint maxima, as the official code decides.

    Returns ``("corrected" | "uncorrected", message)``: corrected when every maximum, rounded to 3 decimals,
    is below 0.003.

    The message names the motifs over the threshold with enough digits to see why (0.0026 fails: it
    rounds to 0.003), the threshold, and the rounding that makes a maximum fail from 0.0025 on.
    """
    rounded = {name: round(float(value), FOOTPRINT_DECIMALS) for name, value in max_by_motif.items()}
    high = [name for name, value in max_by_motif.items() if footprint_reaches_threshold(value)]

    def listing(names, with_rounding=True):
        return ", ".join(f"{name} {float(max_by_motif[name]):.5f}"
                         + (f" (rounds to {rounded[name]:.{FOOTPRINT_DECIMALS}f})" if with_rounding else "")
                         for name in names)

    rule = (f"the official check rounds each maximum to {FOOTPRINT_DECIMALS} decimals and needs it below "
            f"{FOOTPRINT_THRESHOLD}, so maxima from {FOOTPRINT_FAILS_FROM:.4f} on fail")
    if not high:
        return "corrected", (f"bias-free model's enzyme-motif footprint maxima all stay below the threshold "
                             f"{FOOTPRINT_THRESHOLD} after rounding to {FOOTPRINT_DECIMALS} decimals: "
                             f"{listing(max_by_motif, with_rounding=False)}")
    low = [name for name in max_by_motif if name not in high]
    below = f"; below it: {listing(low)}" if low else ""
    return "uncorrected", (f"bias-free model still responds to enzyme motifs: {listing(high)} "
                           f"{'reaches' if len(high) == 1 else 'reach'} the threshold {FOOTPRINT_THRESHOLD} ({rule})"
                           f"{below}. The bias is not fully removed: retrain the bias model (e.g. another "
                           "bias_threshold_factor)")


def footprint_qc(nobias_model, background_sequences, *, assay: str = "ATAC", motifs: dict | None = None,
                 batch_size: int = 64, alphabet: str = "ACGT", progress: bool = False) -> FootprintQC:
    """Marginal footprints of the enzyme motifs on the bias-free model, and the official verdict.

    Args:
        nobias_model: the bias-free model (``bias_models.without_bias(combined)``).
        background_sequences: one-hot ``(n, input_length, 4)`` of test-chromosome nonpeaks (the
            official QC uses all nonpeaks on the fold's test chromosomes).
        assay: ``"ATAC"`` (Tn5 motifs) or ``"DNASE"``; ignored when ``motifs`` is given.
        motifs: ``{name: consensus}`` to use instead of the shipped enzyme motifs.
        batch_size: sequences per model call.
        alphabet: channel order of the sequences and of the model's input.
        progress: show a progress bar.

    Returns:
        :class:`FootprintQC`; the maxima are of
        :attr:`dream_keras.interpret.Footprint.normalized_profile` (sums to 1 per sequence).
    """
    from dream_keras.interpret import marginal_footprints

    motifs = dict(motifs) if motifs is not None else enzyme_motifs(assay)
    footprints = marginal_footprints(nobias_model, background_sequences, motifs, batch_size=batch_size,
                                     alphabet=alphabet, progress=progress)
    max_by_motif = {name: float(footprint.normalized_max) for name, footprint in footprints.items()}
    verdict, message = footprint_verdict(max_by_motif)
    return FootprintQC(max_by_motif, verdict, message, footprints)
