"""The ChromBPNet data rules: edge filter, outlier filter, counts loss weight, bias threshold.

Typical use for a fold: edge-filter train/valid peaks at ``input_length + 2 * max_jitter`` and
everything else (test peaks, nonpeaks) at ``input_length``; outlier-filter train+valid peaks on
their totals over the centred ``output_length`` window; the counts loss weight comes from the kept
totals; the bias model's nonpeak threshold from the peak totals.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.windows import window_starts


class OutlierFilter(NamedTuple):
    """Result of :func:`outlier_filter`.

    Attributes:
        keep: bool mask of the regions strictly between the thresholds.
        lower: the lower threshold (the ``1 - quantile`` quantile).
        upper: the upper threshold (the ``quantile`` quantile).
    """

    keep: np.ndarray
    lower: float
    upper: float


def edge_filter(regions: pd.DataFrame, chrom_sizes: Mapping[str, int], width: int) -> np.ndarray:
    """Bool mask of regions whose ``width`` bp window centred on the summit lies inside its chromosome.

    ``summit - width//2 >= 0`` and ``summit - width//2 + width <= length``.

    Use ``width = input_length + 2 * max_jitter`` for train/valid peaks and ``input_length`` for
    test peaks and nonpeaks. Regions on chromosomes missing from ``chrom_sizes`` are not kept.
    """
    starts = window_starts(regions["summit"].to_numpy(), width)
    lengths = regions["chrom"].map(dict(chrom_sizes)).fillna(-1).to_numpy(dtype=np.int64)
    return (starts >= 0) & (starts + width <= lengths)


def outlier_filter(totals: np.ndarray, quantile: float = 0.9999, reference: np.ndarray | None = None) -> OutlierFilter:
    """Keep totals strictly between the ``1 - quantile`` and ``quantile`` quantiles.

    Args:
        totals: (n,) total counts per region (over the centred ``output_length`` window).
        quantile: upper quantile (default 0.9999, the ChromBPNet ``--outlier-threshold``).
        reference: totals the thresholds are computed from (default: ``totals``, i.e. the train+valid
            peaks); pass e.g. peak totals to filter nonpeaks with the peaks' thresholds.
    """
    totals = np.asarray(totals, dtype=np.float64)
    reference = totals if reference is None else np.asarray(reference, dtype=np.float64)
    if not 0.5 < quantile < 1:
        raise InputError(f"outlier quantile {quantile} must lie between 0.5 and 1 (default 0.9999)")
    if reference.size == 0:
        raise InputError("no regions to compute outlier thresholds from (all were filtered out?)")
    lower, upper = np.quantile(reference, [1 - quantile, quantile])
    return OutlierFilter((totals > lower) & (totals < upper), float(lower), float(upper))


def counts_loss_weight(kept_totals: np.ndarray) -> float:
    """Weight of the log-counts loss: median of the kept totals / 10, floored at 1.0."""
    kept_totals = np.asarray(kept_totals, dtype=np.float64)
    if kept_totals.size == 0:
        raise InputError("no regions left to compute the counts loss weight from")
    return float(max(np.median(kept_totals) / 10.0, 1.0))


def bias_threshold(peak_totals: np.ndarray, bias_threshold_factor: float = 0.5) -> float:
    """Nonpeaks for the bias model must have totals below this.

    The 0.01 quantile of the peak totals x ``bias_threshold_factor``. Raises :class:`InputError` when it is not
    positive.
    """
    peak_totals = np.asarray(peak_totals, dtype=np.float64)
    if peak_totals.size == 0:
        raise InputError("no peaks to compute the bias-model nonpeak threshold from")
    threshold = float(np.quantile(peak_totals, 0.01) * bias_threshold_factor)
    if not threshold > 0:
        raise InputError(f"the bias-model nonpeak threshold is {threshold:g} (0.01 quantile of peak totals "
                         f"{np.quantile(peak_totals, 0.01):g} x bias_threshold_factor {bias_threshold_factor:g}), "
                         "so no nonpeak could be used: the data are too shallow (too few reads in the "
                         "weakest peaks) or the factor is too small")
    return threshold
