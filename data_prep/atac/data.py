"""The windows a ChromBPNet-style fold trains, validates and is tested on, with the official data rules.

Main model (``find_chrombpnet_hyperparams`` + the training generators of the official code):

1. train+valid peaks are edge-filtered at ``input_length + 2 * max_jitter`` and held with a
   ``max_jitter`` margin (training crops them at random offsets); test peaks and all nonpeaks are
   edge-filtered at ``input_length``;
2. outlier thresholds are the ``1 - q`` and ``q`` quantiles of the train+valid peak totals plus a
   seeded sample of ``int(negative_ratio * n_peaks)`` train+valid nonpeak totals; peaks and
   nonpeaks are kept strictly between them (test regions are not filtered);
3. counts loss weight = median of the sampled totals within the thresholds / 10, floored at 1;
4. the bias model is rescaled on every kept train+valid nonpeak;
5. the kept train+valid nonpeaks are then subsampled (seeded) to at most the number of kept peaks,
   and each epoch draws ``int(negative_ratio * n_train_peaks)`` of the train ones.

Totals are counts summed over the centred ``output_length`` window.

Bias model (``find_bias_hyperparams``): peaks are edge-filtered at ``input_length`` only; the
train+valid nonpeaks below the bias threshold, outlier-filtered, are what it learns from
(``bias_models.select_bias_nonpeaks``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from data_prep import Windows, extract_windows
from data_prep.atac.inputs import AtacInputs, check_signal, extract_split, window_totals
from data_prep.atac.regions import TRAIN_VALID, count_by_split, select_main_model_regions
from data_prep.errors import InputError
from data_prep.streaming import StreamedWindows


def select_windows(windows: Windows, keep) -> Windows:
    """The windows where ``keep`` (bool ``(n,)`` or indices) selects, regions index reset."""
    keep = np.asarray(keep)
    counts = windows.counts[keep] if windows.counts is not None else None
    return Windows(windows.sequences[keep], counts, windows.regions.iloc[keep].reset_index(drop=True),
                   windows.dropped)


def split_windows(windows: Windows, split: str) -> Windows:
    """The windows whose region lies on a ``split`` chromosome (the ``split`` column)."""
    return select_windows(windows, (windows.regions["split"] == split).to_numpy())


@dataclasses.dataclass
class MainModelData:
    """Everything the main (bias-factorised) model of one fold sees.

    Attributes:
        train_peaks: training windows with a ``max_jitter`` margin (sequence ``input_length + 2J``).
        valid_peaks: the same for validation.
        train_nonpeaks: kept, subsampled training nonpeaks (``input_length``).
        valid_nonpeaks: the same for validation.
        scaling_nonpeaks: every kept train+valid nonpeak (before subsampling), in file order: the bias
            model is rescaled on them. Their sequences are read from the FASTA batch by batch
            (:class:`data_prep.streaming.StreamedWindows`): with the usual two nonpeaks per peak, holding
            them all would double the nonpeak memory for one prediction pass.
        scaling_totals: the totals of ``scaling_nonpeaks``.
        test_peaks: the evaluation peaks (edge-filtered only), ``input_length``.
        test_nonpeaks: the evaluation nonpeaks, likewise.
        counts_loss_weight: computed from the data (see the module docstring).
        report: counts of regions loaded, dropped and kept, thresholds (for run.json and the summary).
    """

    train_peaks: Windows
    valid_peaks: Windows
    train_nonpeaks: Windows
    valid_nonpeaks: Windows
    scaling_nonpeaks: "StreamedWindows | Windows"
    test_peaks: Windows
    test_nonpeaks: Windows
    counts_loss_weight: float
    report: dict
    #: float64 totals of ``scaling_nonpeaks`` over the centred ``output_length``.
    scaling_totals: np.ndarray | None = None


def load_main_model_data(inputs: AtacInputs, *, input_length: int, output_length: int, max_jitter: int,
                         negative_ratio: float, outlier_quantile: float, seed: int,
                         progress: bool | None = None) -> MainModelData:
    """Read and filter one fold's windows for the main model (see the module docstring).

    The regions are chosen first from bigWig totals
    (:func:`~data_prep.atac.regions.select_main_model_regions`), then only the kept
    windows are extracted, each kind into one array (train rows, then valid rows) that the splits
    are views of: memory holds each needed window once (the nonpeaks the bias model is rescaled
    on, a superset of the training ones, are read from the FASTA when predicted).

    Raises :class:`InputError` for peaks all too close to chromosome ends, a bigWig without signal
    over the peaks, too few nonpeaks for the negative ratio, or a split left empty by the filters.
    """
    regions = select_main_model_regions(inputs, input_length=input_length, output_length=output_length,
                                        max_jitter=max_jitter, negative_ratio=negative_ratio,
                                        outlier_quantile=outlier_quantile, seed=seed, progress=progress)
    lengths = dict(input_length=input_length, output_length=output_length, progress=progress)
    peaks = extract_windows(pd.concat([regions.train_peaks, regions.valid_peaks], ignore_index=True), inputs.genome,
                            inputs.bigwig, max_jitter=max_jitter, **lengths)
    n_train_peaks = len(regions.train_peaks)
    nonpeaks = extract_windows(pd.concat([regions.train_nonpeaks, regions.valid_nonpeaks], ignore_index=True),
                               inputs.genome, inputs.bigwig, **lengths)
    n_train_nonpeaks = len(regions.train_nonpeaks)
    scaling = StreamedWindows(regions.scaling_nonpeaks, inputs.genome, inputs.bigwig, input_length=input_length)
    test_peaks = extract_windows(regions.test_peaks, inputs.genome, inputs.bigwig, **lengths)
    test_nonpeaks = extract_windows(regions.test_nonpeaks, inputs.genome, inputs.bigwig, **lengths)
    return MainModelData(window_rows(peaks, 0, n_train_peaks), window_rows(peaks, n_train_peaks, len(peaks.sequences)),
                         window_rows(nonpeaks, 0, n_train_nonpeaks),
                         window_rows(nonpeaks, n_train_nonpeaks, len(nonpeaks.sequences)), scaling, test_peaks,
                         test_nonpeaks, regions.counts_loss_weight, regions.report, regions.scaling_totals)


def window_rows(windows: Windows, first: int, stop: int) -> Windows:
    """Rows ``first:stop`` of ``windows`` as views of its arrays (no copy), regions index reset."""
    counts = windows.counts[first:stop] if windows.counts is not None else None
    return Windows(windows.sequences[first:stop], counts, windows.regions.iloc[first:stop].reset_index(drop=True),
                   windows.dropped)



@dataclasses.dataclass
class BiasModelData:
    """What the bias model of one fold sees.

    Attributes:
        train_nonpeaks: the kept low-signal training nonpeaks (``input_length``).
        valid_nonpeaks: the same for validation.
        test_peaks: evaluation peaks (edge-filtered at ``input_length``).
        test_nonpeaks: evaluation nonpeaks, likewise.
        counts_loss_weight: median kept totals / 10, at least 1.
        report: counts, the threshold and the outlier bounds.
    """

    train_nonpeaks: Windows
    valid_nonpeaks: Windows
    test_peaks: Windows
    test_nonpeaks: Windows
    counts_loss_weight: float
    report: dict


def load_bias_model_data(inputs: AtacInputs, *, input_length: int, output_length: int, bias_threshold_factor: float,
                         outlier_quantile: float, progress: bool | None = None) -> BiasModelData:
    """Read one fold's windows for the bias model (see the module docstring).

    Raises :class:`InputError` (from ``bias_models.select_bias_nonpeaks``, or here) when no train or
    no valid nonpeak is left below the bias threshold.
    """
    from bias_models.bias_data import select_bias_nonpeaks

    peaks, peaks_dropped = extract_split(inputs, "peaks", TRAIN_VALID, input_length=input_length,
                                         output_length=output_length, progress=progress)
    nonpeaks, nonpeaks_dropped = extract_split(inputs, "nonpeaks", TRAIN_VALID, input_length=input_length,
                                               output_length=output_length, progress=progress)
    peak_totals, nonpeak_totals = window_totals(peaks, output_length), window_totals(nonpeaks, output_length)
    check_signal(peak_totals, inputs, "train+valid peaks")
    selection = select_bias_nonpeaks(peak_totals, nonpeak_totals, bias_threshold_factor, outlier_quantile)
    kept = select_windows(nonpeaks, selection.keep)
    train_nonpeaks, valid_nonpeaks = split_windows(kept, "train"), split_windows(kept, "valid")
    for split, windows in (("train", train_nonpeaks), ("valid", valid_nonpeaks)):
        if len(windows.sequences) == 0:
            raise InputError(f"no {split} nonpeak of {inputs.nonpeaks_path} has total counts below the bias threshold "
                             f"{selection.threshold:g} (and within the outlier bounds); raise --bias-threshold-factor "
                             "or make more nonpeaks (`dream-keras prep nonpeaks --ratio ...`)")
    test_peaks, test_peaks_dropped = extract_split(inputs, "peaks", ("test",), input_length=input_length,
                                                   output_length=output_length, progress=progress)
    test_nonpeaks, test_nonpeaks_dropped = extract_split(inputs, "nonpeaks", ("test",), input_length=input_length,
                                                         output_length=output_length, progress=progress)
    report = {
        "peaks": {"on_fold": count_by_split(inputs.peaks),
                  "dropped_near_chromosome_ends": {"train+valid": peaks_dropped, "test": test_peaks_dropped}},
        "nonpeaks": {"on_fold": count_by_split(inputs.nonpeaks),
                     "dropped_near_chromosome_ends": {"train+valid": nonpeaks_dropped, "test": test_nonpeaks_dropped},
                     "below_threshold": selection.n_below_threshold,
                     "kept": {"train": len(train_nonpeaks.sequences), "valid": len(valid_nonpeaks.sequences),
                              "test": len(test_nonpeaks.sequences)}},
        "bias_threshold": selection.threshold,
        "outlier_thresholds": {"lower": selection.lower, "upper": selection.upper, "quantile": outlier_quantile},
        "counts_loss_weight_from_data": selection.counts_loss_weight,
    }
    return BiasModelData(train_nonpeaks, valid_nonpeaks, test_peaks, test_nonpeaks, selection.counts_loss_weight,
                         report)

