"""The ChromBPNet data rules on known numbers and on the real data."""

import numpy as np
import pandas as pd
import pytest

from data_prep import (
    InputError,
    bias_threshold,
    counts_loss_weight,
    crop_windows,
    edge_filter,
    extract_windows,
    load_fold,
    outlier_filter,
    read_chrom_sizes,
    read_narrowpeak,
    split_of,
)


def test_edge_filter_known_windows():
    regions = pd.DataFrame({"chrom": ["a", "a", "a", "a", "b"], "summit": [1057, 1056, 8943, 8944, 5000]})
    keep = edge_filter(regions, {"a": 10000}, 2114)
    # [summit - 1057, summit + 1057) must lie in [0, 10000); chromosome b is unknown -> not kept.
    assert keep.tolist() == [True, False, True, False, False]
    assert edge_filter(regions, {"a": 10000}, 3114).tolist() == [False, False, False, False, False]


def test_edge_filter_train_valid_with_jitter_others_without(data_dir):
    atac = data_dir / "atac_mm10"
    peaks = read_narrowpeak(atac / "peaks.narrowPeak")
    sizes = read_chrom_sizes(atac / "chrom.sizes")
    split = split_of(peaks, load_fold(atac / "folds" / "fold_0.json"))
    keep = np.where(split.isin(["train", "valid"]), edge_filter(peaks, sizes, 2114 + 2 * 500),
                    edge_filter(peaks, sizes, 2114))
    train_valid = peaks[split.isin(["train", "valid"]).to_numpy()]
    windows = extract_windows(train_valid, atac / "genome.fa", None, 2114, 1000, 500)
    assert keep[split.isin(["train", "valid"]).to_numpy()].sum() == len(windows.regions)
    assert (split == "test").sum() == 15 and keep[(split == "test").to_numpy()].sum() == 15


def test_outlier_filter_quantiles():
    totals = np.arange(1, 10001, dtype=float)
    result = outlier_filter(totals)
    assert result.lower == pytest.approx(1.9999) and result.upper == pytest.approx(9999.0001)
    assert result.keep.sum() == 9998 and not result.keep[0] and not result.keep[-1]
    loose = outlier_filter(totals, quantile=0.99)
    assert loose.keep.sum() == 9800
    # nonpeaks filtered with the peaks' thresholds
    assert outlier_filter(np.array([1.0, 5.0, 20000.0]), reference=totals).keep.tolist() == [False, True, False]


def test_counts_loss_weight():
    assert counts_loss_weight([10, 20, 30, 1000]) == pytest.approx(2.5)
    assert counts_loss_weight([1, 2, 3]) == 1.0  # floored
    with pytest.raises(InputError):
        counts_loss_weight([])


def test_bias_threshold():
    assert bias_threshold(np.arange(0, 101), 0.5) == pytest.approx(0.5)  # 0.01 quantile = 1.0
    assert bias_threshold(np.arange(0, 101), 0.8) == pytest.approx(0.8)
    with pytest.raises(InputError, match="data are too shallow .* or the factor is too small"):
        bias_threshold(np.r_[np.zeros(5), np.arange(95)], 0.5)
    with pytest.raises(InputError, match="factor is too small"):
        bias_threshold(np.arange(1, 101), 0.0)


def test_rules_on_real_peak_totals(data_dir):
    atac = data_dir / "atac_mm10"
    windows = extract_windows(atac / "peaks.narrowPeak", atac / "genome.fa", atac / "tn5_insertions.bw", 2114, 1000)
    totals = crop_windows(windows, 2114, 1000).counts.sum(axis=1)
    result = outlier_filter(totals)
    # Fewer than 10,000 peaks: only the single smallest and largest totals fall outside.
    assert result.keep.sum() == len(totals) - (totals == totals.min()).sum() - (totals == totals.max()).sum()
    weight = counts_loss_weight(totals[result.keep])
    assert weight == max(np.median(totals[result.keep]) / 10, 1.0)
    assert bias_threshold(totals, 0.5) == pytest.approx(np.quantile(totals, 0.01) * 0.5)
