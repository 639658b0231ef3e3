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

from data_prep import Windows, counts_loss_weight, outlier_filter
from data_prep.epochs import n_nonpeaks_per_epoch
from data_prep.errors import InputError
from dream_keras.training.atac_inputs import AtacInputs, check_signal, extract_split, window_totals

TRAIN_VALID = ("train", "valid")


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

    train_peaks, valid_peaks : windows with a ``max_jitter`` margin (sequence ``input_length + 2J``).
    train_nonpeaks, valid_nonpeaks : kept, subsampled nonpeaks (``input_length``).
    scaling_nonpeaks : every kept train+valid nonpeak (before subsampling): the bias model is
        rescaled on them.
    test_peaks, test_nonpeaks : the evaluation regions (edge-filtered only), ``input_length``.
    counts_loss_weight : computed from the data (see the module docstring).
    report : counts of regions loaded, dropped and kept, thresholds (for run.json and the summary).
    """

    train_peaks: Windows
    valid_peaks: Windows
    train_nonpeaks: Windows
    valid_nonpeaks: Windows
    scaling_nonpeaks: Windows
    test_peaks: Windows
    test_nonpeaks: Windows
    counts_loss_weight: float
    report: dict


def _split_counts(windows: Windows) -> dict:
    return {split: int((windows.regions["split"] == split).sum()) for split in ("train", "valid", "test")
            if (windows.regions["split"] == split).any()}


def _check_enough_nonpeaks(n_peaks: int, n_nonpeaks: int, negative_ratio: float, split: str, inputs: AtacInputs):
    needed = n_nonpeaks_per_epoch(n_peaks, negative_ratio)
    if needed > n_nonpeaks:
        raise InputError(f"--negative-ratio {negative_ratio:g} x {n_peaks} {split} peaks needs {needed} {split} "
                         f"nonpeaks, but only {n_nonpeaks} of {inputs.nonpeaks_path} are left after the filters; "
                         "make more nonpeaks (`dream-keras prep nonpeaks --ratio ...`) or lower --negative-ratio")


def load_main_model_data(inputs: AtacInputs, *, input_length: int, output_length: int, max_jitter: int,
                         negative_ratio: float, outlier_quantile: float, seed: int,
                         progress: bool | None = None) -> MainModelData:
    """Read and filter one fold's windows for the main model (see the module docstring).

    Raises :class:`InputError` for peaks all too close to chromosome ends, a bigWig without signal
    over the peaks, too few nonpeaks for the negative ratio, or a split left empty by the filters.
    """
    rng = np.random.default_rng([int(seed), 1])
    peaks, peaks_dropped = extract_split(inputs, "peaks", TRAIN_VALID, input_length=input_length,
                                         output_length=output_length, margin=max_jitter, progress=progress)
    nonpeaks, nonpeaks_dropped = extract_split(inputs, "nonpeaks", TRAIN_VALID, input_length=input_length,
                                               output_length=output_length, progress=progress)
    peak_totals, nonpeak_totals = window_totals(peaks, output_length), window_totals(nonpeaks, output_length)
    check_signal(peak_totals, inputs, "train+valid peaks")

    n_sampled = n_nonpeaks_per_epoch(len(peak_totals), negative_ratio)
    if n_sampled > len(nonpeak_totals):
        raise InputError(f"the outlier thresholds sample {n_sampled} nonpeaks (--negative-ratio {negative_ratio:g} x "
                         f"{len(peak_totals)} peaks), but {inputs.nonpeaks_path} has only {len(nonpeak_totals)} on the "
                         "train+valid chromosomes; make more nonpeaks or lower --negative-ratio")
    reference = np.concatenate([peak_totals, rng.choice(nonpeak_totals, size=n_sampled, replace=False)])
    peak_filter = outlier_filter(peak_totals, outlier_quantile, reference=reference)
    nonpeak_filter = outlier_filter(nonpeak_totals, outlier_quantile, reference=reference)
    lower, upper = peak_filter.lower, peak_filter.upper
    # The official weight takes the sampled totals within the thresholds, bounds included.
    weight = counts_loss_weight(reference[(reference >= lower) & (reference <= upper)])

    kept_peaks = select_windows(peaks, peak_filter.keep)
    kept_nonpeaks = select_windows(nonpeaks, nonpeak_filter.keep)
    for split in TRAIN_VALID:
        if not (kept_peaks.regions["split"] == split).any():
            raise InputError(f"no {split} peak of {inputs.peaks_path} is left after the outlier filter (totals "
                             f"strictly between {lower:g} and {upper:g}); lower --outlier-quantile or add peaks")
    # The official pipeline keeps at most as many train+valid nonpeaks as peaks.
    n_kept_peaks = len(kept_peaks.sequences)
    if len(kept_nonpeaks.sequences) > n_kept_peaks:
        chosen = np.sort(rng.choice(len(kept_nonpeaks.sequences), size=n_kept_peaks, replace=False))
        training_nonpeaks = select_windows(kept_nonpeaks, chosen)
    else:
        training_nonpeaks = kept_nonpeaks

    train_peaks, valid_peaks = split_windows(kept_peaks, "train"), split_windows(kept_peaks, "valid")
    train_nonpeaks = split_windows(training_nonpeaks, "train")
    valid_nonpeaks = split_windows(training_nonpeaks, "valid")
    _check_enough_nonpeaks(len(train_peaks.sequences), len(train_nonpeaks.sequences), negative_ratio, "train", inputs)
    _check_enough_nonpeaks(len(valid_peaks.sequences), len(valid_nonpeaks.sequences), negative_ratio, "valid", inputs)

    test_peaks, test_peaks_dropped = extract_split(inputs, "peaks", ("test",), input_length=input_length,
                                                   output_length=output_length, progress=progress)
    test_nonpeaks, test_nonpeaks_dropped = extract_split(inputs, "nonpeaks", ("test",), input_length=input_length,
                                                         output_length=output_length, progress=progress)
    report = {
        "peaks": {"on_fold": _count(inputs.peaks), "dropped_near_chromosome_ends": {
                      "train+valid": peaks_dropped, "test": test_peaks_dropped},
                  "kept": {**_split_counts(kept_peaks), "test": len(test_peaks.sequences)}},
        "nonpeaks": {"on_fold": _count(inputs.nonpeaks), "dropped_near_chromosome_ends": {
                         "train+valid": nonpeaks_dropped, "test": test_nonpeaks_dropped},
                     "kept_after_outlier_filter": len(kept_nonpeaks.sequences),
                     "kept": {**_split_counts(training_nonpeaks), "test": len(test_nonpeaks.sequences)}},
        "outlier_thresholds": {"lower": lower, "upper": upper, "quantile": outlier_quantile,
                               "n_reference_totals": int(reference.size)},
        "counts_loss_weight_from_data": weight,
    }
    return MainModelData(train_peaks, valid_peaks, train_nonpeaks, valid_nonpeaks, kept_nonpeaks,
                         test_peaks, test_nonpeaks, weight, report)


def _count(frame) -> dict:
    return {split: int((frame["split"] == split).sum()) for split in ("train", "valid", "test")}


@dataclasses.dataclass
class BiasModelData:
    """What the bias model of one fold sees.

    train_nonpeaks, valid_nonpeaks : the kept low-signal nonpeaks (``input_length``).
    test_peaks, test_nonpeaks : evaluation regions (edge-filtered at ``input_length``).
    counts_loss_weight : median kept totals / 10, at least 1.
    report : counts, the threshold and the outlier bounds.
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
        "peaks": {"on_fold": _count(inputs.peaks),
                  "dropped_near_chromosome_ends": {"train+valid": peaks_dropped, "test": test_peaks_dropped}},
        "nonpeaks": {"on_fold": _count(inputs.nonpeaks),
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

