"""Which regions one fold's main model trains, validates and is tested on.

Which regions one fold's main model trains, validates and is tested on, decided before any window is read into memory.

The official data rules (see :mod:`data_prep.atac.data`) need each region's total
counts over its centred ``output_length`` window: they are read from the bigWig alone
(:func:`data_prep.region_totals.region_totals`), so the outlier filter and the nonpeak subsample
pick regions, and only the windows kept are then extracted (in memory) or streamed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from data_prep import counts_loss_weight, outlier_filter
from data_prep.atac.inputs import AtacInputs, check_signal
from data_prep.epochs import n_nonpeaks_per_epoch
from data_prep.errors import InputError
from data_prep.region_totals import region_totals, windows_fit

TRAIN_VALID = ("train", "valid")
_KEPT_COLUMNS = ("chrom", "start", "end", "name", "summit", "split")


@dataclasses.dataclass
class MainModelRegions:
    """The region tables of one fold's main model (each in file order, index reset).

    Attributes:
        train_peaks: kept training peaks whose ``input_length + 2 * max_jitter`` window fits.
        valid_peaks: the same for validation.
        train_nonpeaks: kept, subsampled training nonpeaks.
        valid_nonpeaks: the same for validation.
        scaling_nonpeaks: every kept train+valid nonpeak (before subsampling): the bias model is
            rescaled on them.
        scaling_totals: float64 totals of ``scaling_nonpeaks``.
        test_peaks: edge-filtered test peaks.
        test_nonpeaks: edge-filtered test nonpeaks.
        counts_loss_weight: as :class:`~data_prep.atac.data.MainModelData`.
        report: as :class:`~data_prep.atac.data.MainModelData`.
    """

    train_peaks: pd.DataFrame
    valid_peaks: pd.DataFrame
    train_nonpeaks: pd.DataFrame
    valid_nonpeaks: pd.DataFrame
    scaling_nonpeaks: pd.DataFrame
    scaling_totals: np.ndarray
    test_peaks: pd.DataFrame
    test_nonpeaks: pd.DataFrame
    counts_loss_weight: float
    report: dict


def fitting_regions(inputs: AtacInputs, kind: str, splits, *, input_length: int, output_length: int,
                    margin: int = 0) -> tuple[pd.DataFrame, int]:
    """The ``kind`` regions of ``splits`` whose windows fit their chromosome, and how many were dropped.

    The ``kind`` regions of ``splits`` whose windows (``margin`` bp extra each side) fit their chromosome (columns
    ``chrom, start, end, name, summit, split``), and how many were dropped. Raises :class:`InputError` when a split
    loses them all (the check of :func:`~data_prep.atac.inputs.extract_split`).
    """
    regions = inputs.regions(kind, splits)
    lengths = regions["chrom"].map(inputs.chrom_sizes).to_numpy(dtype=np.int64)
    fits = windows_fit(regions["summit"].to_numpy(), lengths, input_length + 2 * margin, output_length + 2 * margin)
    # Only the columns later steps read: the narrowPeak text columns would cost ~0.4 kB a region.
    kept = regions.loc[fits, [c for c in _KEPT_COLUMNS if c in regions]].reset_index(drop=True)
    path = inputs.peaks_path if kind == "peaks" else inputs.nonpeaks_path
    for split in splits:
        n_regions = int((regions["split"] == split).sum())
        if n_regions and not (kept["split"] == split).any():
            width = input_length + 2 * margin
            raise InputError(
                f"all {n_regions} {split} {kind} of {path} lie within {width // 2} bp of a chromosome end, so no "
                f"{width} bp window (input_length {input_length}{f' + 2 x max_jitter {margin}' if margin else ''}) "
                f"fits; use a smaller --input-length{' or --max-jitter' if margin else ''}, or longer chromosomes")
    return kept, int((~fits).sum())


def _split_counts(frame: pd.DataFrame) -> dict:
    return {split: int((frame["split"] == split).sum()) for split in ("train", "valid", "test")
            if (frame["split"] == split).any()}


def count_by_split(frame) -> dict:
    """Rows of ``frame`` in each of train, valid and test (zeros included)."""
    return {split: int((frame["split"] == split).sum()) for split in ("train", "valid", "test")}


def _check_enough_nonpeaks(n_peaks: int, n_nonpeaks: int, negative_ratio: float, split: str, inputs: AtacInputs):
    needed = n_nonpeaks_per_epoch(n_peaks, negative_ratio)
    if needed > n_nonpeaks:
        raise InputError(f"--negative-ratio {negative_ratio:g} x {n_peaks} {split} peaks needs {needed} {split} "
                         f"nonpeaks, but only {n_nonpeaks} of {inputs.nonpeaks_path} are left after the filters; "
                         "make more nonpeaks (`dream-keras prep nonpeaks --ratio ...`) or lower --negative-ratio")


def select_main_model_regions(inputs: AtacInputs, *, input_length: int, output_length: int, max_jitter: int,
                              negative_ratio: float, outlier_quantile: float, seed: int,
                              progress: bool | None = None) -> MainModelRegions:
    """Apply the main model's data rules to region tables and bigWig totals (no window held).

    The same regions, thresholds and weight as filtering extracted windows: the same seeded draws
    in the same order. Raises :class:`InputError` as
    :func:`~data_prep.atac.data.load_main_model_data`.
    """
    rng = np.random.default_rng([int(seed), 1])
    lengths = dict(input_length=input_length, output_length=output_length)
    peaks, peaks_dropped = fitting_regions(inputs, "peaks", TRAIN_VALID, margin=max_jitter, **lengths)
    nonpeaks, nonpeaks_dropped = fitting_regions(inputs, "nonpeaks", TRAIN_VALID, **lengths)
    test_peaks, test_peaks_dropped = fitting_regions(inputs, "peaks", ("test",), **lengths)
    test_nonpeaks, test_nonpeaks_dropped = fitting_regions(inputs, "nonpeaks", ("test",), **lengths)
    peak_totals = region_totals(peaks, inputs.bigwig, output_length, progress=progress)
    nonpeak_totals = region_totals(nonpeaks, inputs.bigwig, output_length, progress=progress)
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

    kept_peaks = peaks[peak_filter.keep].reset_index(drop=True)
    kept_nonpeaks = nonpeaks[nonpeak_filter.keep].reset_index(drop=True)
    scaling_totals = nonpeak_totals[nonpeak_filter.keep]
    for split in TRAIN_VALID:
        if not (kept_peaks["split"] == split).any():
            raise InputError(f"no {split} peak of {inputs.peaks_path} is left after the outlier filter (totals "
                             f"strictly between {lower:g} and {upper:g}); lower --outlier-quantile or add peaks")
    # The official pipeline keeps at most as many train+valid nonpeaks as peaks.
    chosen = np.arange(len(kept_nonpeaks))
    if len(kept_nonpeaks) > len(kept_peaks):
        chosen = np.sort(rng.choice(len(kept_nonpeaks), size=len(kept_peaks), replace=False))
    training_nonpeaks = kept_nonpeaks.iloc[chosen].reset_index(drop=True)

    def part(frame, split):
        return frame[frame["split"] == split].reset_index(drop=True)

    train_peaks, valid_peaks = part(kept_peaks, "train"), part(kept_peaks, "valid")
    train_nonpeaks, valid_nonpeaks = part(training_nonpeaks, "train"), part(training_nonpeaks, "valid")
    _check_enough_nonpeaks(len(train_peaks), len(train_nonpeaks), negative_ratio, "train", inputs)
    _check_enough_nonpeaks(len(valid_peaks), len(valid_nonpeaks), negative_ratio, "valid", inputs)
    report = {
        "peaks": {"on_fold": count_by_split(inputs.peaks), "dropped_near_chromosome_ends": {
                      "train+valid": peaks_dropped, "test": test_peaks_dropped},
                  "kept": {**_split_counts(kept_peaks), "test": len(test_peaks)}},
        "nonpeaks": {"on_fold": count_by_split(inputs.nonpeaks), "dropped_near_chromosome_ends": {
                         "train+valid": nonpeaks_dropped, "test": test_nonpeaks_dropped},
                     "kept_after_outlier_filter": len(kept_nonpeaks),
                     "kept": {**_split_counts(training_nonpeaks), "test": len(test_nonpeaks)}},
        "outlier_thresholds": {"lower": lower, "upper": upper, "quantile": outlier_quantile,
                               "n_reference_totals": int(reference.size)},
        "counts_loss_weight_from_data": weight,
    }
    return MainModelRegions(train_peaks, valid_peaks, train_nonpeaks, valid_nonpeaks, kept_nonpeaks, scaling_totals,
                            test_peaks, test_nonpeaks, weight, report)
