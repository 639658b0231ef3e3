"""dream_keras.metrics: official ChromBPNet metric values, metrics.json, correlations, DREAM score."""

import json

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import pearsonr, spearmanr

from dream_keras import metrics


@pytest.fixture(scope="module")
def golden(chrombpnet_golden):
    return chrombpnet_golden("small_metrics_golden")


def test_profile_count_metrics_reproduce_official_values(golden):
    arrays, values = golden
    result = metrics.profile_count_metrics(arrays["true_counts"], arrays["logits"], arrays["pred_logcounts"])
    for key in ["spearmanr", "pearsonr", "mse", "median_jsd", "median_norm_jsd"]:
        assert result[key] == pytest.approx(values[key], abs=1e-6), key
    # Per region, including the regions without counts (NaN in the official output, region 5 among them).
    assert np.isnan(arrays["jsd"][5]) and np.isnan(result["jsd"][5]) and np.isnan(result["norm_jsd"][5])
    np.testing.assert_allclose(result["jsd"], arrays["jsd"], atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(result["norm_jsd"], arrays["jsd_norm"], atol=1e-6, equal_nan=True)
    assert np.nanmin(result["norm_jsd"]) >= 0.0 and np.nanmax(result["norm_jsd"]) <= 1.0


def test_profile_jsd_normalisation_against_uniform_profile():
    counts = np.array([[4.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [3.0, 1.0, 0.0, 0.0]])
    uniform = np.full((3, 4), 0.25)
    jsd, norm_jsd = metrics.profile_jsd(counts, uniform)
    # Predicting uniform is the normalisation's worst case: 0.
    np.testing.assert_allclose(norm_jsd[[0, 2]], 0.0, atol=1e-6)
    # An observed uniform profile has max_jsd 0: the official (jsd - max) / (min - max) is 0 / 0 = NaN
    # for a uniform prediction and +inf, clipped to 1, for any other prediction.
    assert np.isnan(norm_jsd[1])
    _, norm_skewed = metrics.profile_jsd(counts[1:2], np.array([[0.7, 0.1, 0.1, 0.1]]))
    assert norm_skewed[0] == 1.0
    # A perfect prediction of the first profile: only the 0.001 pseudocount separates them.
    jsd_perfect, norm_perfect = metrics.profile_jsd(counts[:1], counts[:1] / 4.0)
    assert jsd_perfect[0] < 1e-3 and norm_perfect[0] > 0.99
    expected = jensenshannon(counts[2] / 4.001, uniform[2])
    assert jsd[2] == pytest.approx(expected, abs=1e-12)


def test_metrics_by_subset_slice_the_regions(golden):
    arrays, _ = golden
    is_peak = np.arange(40) % 3 == 0
    by_subset = metrics.profile_count_metrics_by_subset(
        arrays["true_counts"], arrays["logits"], arrays["pred_logcounts"], is_peak
    )
    assert list(by_subset) == ["peaks_and_nonpeaks", "nonpeaks", "peaks"]
    peaks_only = metrics.profile_count_metrics(
        arrays["true_counts"][is_peak], arrays["logits"][is_peak], arrays["pred_logcounts"][is_peak]
    )
    for key in ["spearmanr", "pearsonr", "mse", "median_jsd", "median_norm_jsd"]:
        assert by_subset["peaks"][key] == pytest.approx(peaks_only[key], abs=1e-12)
    assert by_subset["nonpeaks"]["jsd"].shape == (int((~is_peak).sum()),)
    assert by_subset["peaks_and_nonpeaks"]["pearsonr"] == pytest.approx(0.9738086038626317, abs=1e-9)
    only_peaks = metrics.profile_count_metrics_by_subset(
        arrays["true_counts"], arrays["logits"], arrays["pred_logcounts"], np.ones(40, dtype=bool)
    )
    assert list(only_peaks) == ["peaks"]


def test_write_metrics_json_official_schema_atomically(tmp_path, golden):
    arrays, values = golden
    is_peak = np.arange(40) < 20
    by_subset = metrics.profile_count_metrics_by_subset(
        arrays["true_counts"], arrays["logits"], arrays["pred_logcounts"], is_peak
    )
    target = tmp_path / "metrics.json"
    target.write_text("previous run")
    metrics.write_metrics_json(target, by_subset)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # no temporary file left behind
    document = json.loads(target.read_text())
    assert list(document) == ["counts_metrics", "profile_metrics"]
    for section, keys in [("counts_metrics", ["spearmanr", "pearsonr", "mse"]),
                          ("profile_metrics", ["median_jsd", "median_norm_jsd"])]:
        assert list(document[section]) == ["peaks_and_nonpeaks", "nonpeaks", "peaks"]
        for subset in document[section].values():
            assert list(subset) == keys
    assert document["counts_metrics"]["peaks_and_nonpeaks"]["spearmanr"] == pytest.approx(values["spearmanr"], abs=1e-9)
    assert document["profile_metrics"]["peaks_and_nonpeaks"]["median_norm_jsd"] == pytest.approx(
        values["median_norm_jsd"], abs=1e-6)
    assert document["profile_metrics"]["peaks"]["median_jsd"] == pytest.approx(
        float(np.nanmedian(arrays["jsd"][:20])), abs=1e-6)


def test_write_metrics_json_leaves_existing_file_on_bad_input(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("previous run")
    with pytest.raises(ValueError, match="no subset named"):
        metrics.write_metrics_json(target, {"test": {"spearmanr": 1.0}})
    with pytest.raises(ValueError, match="lack"):
        metrics.write_metrics_json(target, {"peaks": {"spearmanr": 1.0}})
    assert target.read_text() == "previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_correlations_match_scipy_and_are_nan_on_constant_input():
    rng = np.random.default_rng(11)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    y[:20] = np.round(y[:20])  # a few ties for the rank correlation
    y[20:30] = y[0]
    assert metrics.pearson_r(x, y) == pytest.approx(pearsonr(x, y)[0], abs=1e-12)
    assert metrics.spearman_r(x, y) == pytest.approx(spearmanr(x, y)[0], abs=1e-12)
    assert np.isnan(metrics.pearson_r(x, np.full(200, 3.0)))
    assert np.isnan(metrics.spearman_r(np.ones(5), np.arange(5)))
    assert np.isnan(metrics.pearson_r([1.0], [2.0]))
    with pytest.raises(ValueError, match="different lengths"):
        metrics.pearson_r(x, y[:-1])


def _dream_case():
    rng = np.random.default_rng(5)
    n = 60
    measured = rng.normal(size=n)
    predicted = measured + rng.normal(scale=0.8, size=n)
    subsets = {
        "high": np.arange(0, 10),
        "low": np.arange(10, 20),
        "native": np.arange(20, 28),
        "random": np.arange(28, 40),
        "challenging": np.arange(40, 48),
        "SNVs": np.array([[48, 49], [50, 51], [52, 53], [54, 55], [56, 57], [58, 59], [0, 1]]),
        "motif_perturbation": np.array([[2, 3], [4, 5], [6, 7], [8, 9]]),
        "motif_tiling": np.array([[10, 20], [11, 21], [12, 22], [13, 23], [14, 24]]),
    }
    return measured, predicted, subsets


def test_dream_score_weights_are_the_published_ones():
    assert metrics.DREAM_SUBSET_WEIGHTS == {
        "all": 1.0, "high": 0.3, "low": 0.3, "native": 0.3, "random": 0.3, "challenging": 0.5,
        "SNVs": 1.25, "motif_perturbation": 0.3, "motif_tiling": 0.4,
    }
    assert sum(metrics.DREAM_SUBSET_WEIGHTS.values()) == pytest.approx(4.65)


def test_dream_score_perfect_predictions_score_one():
    measured, _, subsets = _dream_case()
    result = metrics.dream_score(measured, measured, subsets)
    assert result["weight_sum"] == pytest.approx(4.65)
    assert result["pearson_score"] == pytest.approx(1.0)
    assert result["spearman_score"] == pytest.approx(1.0)


def test_dream_score_matches_hand_computed_weighted_sum():
    measured, predicted, subsets = _dream_case()
    result = metrics.dream_score(predicted, measured, subsets)

    def r(a, b):
        return np.corrcoef(a, b)[0, 1]

    single = {"all": np.arange(60), **{k: v for k, v in subsets.items() if v.ndim == 1}}
    r_by_subset = {name: r(measured[idx], predicted[idx]) for name, idx in single.items()}
    rho_by_subset = {name: spearmanr(measured[idx], predicted[idx])[0] for name, idx in single.items()}
    for name in ["SNVs", "motif_perturbation", "motif_tiling"]:
        first, second = subsets[name][:, 0], subsets[name][:, 1]
        r_by_subset[name] = r(measured[second] - measured[first], predicted[second] - predicted[first])
        rho_by_subset[name] = spearmanr(measured[second] - measured[first], predicted[second] - predicted[first])[0]
    weights = {"all": 1, "high": 0.3, "low": 0.3, "native": 0.3, "random": 0.3, "challenging": 0.5,
               "SNVs": 1.25, "motif_perturbation": 0.3, "motif_tiling": 0.4}
    expected_pearson = sum(weights[k] * r_by_subset[k] ** 2 for k in weights) / 4.65
    expected_spearman = sum(weights[k] * rho_by_subset[k] for k in weights) / 4.65
    assert result["pearson_score"] == pytest.approx(expected_pearson, abs=1e-12)
    assert result["spearman_score"] == pytest.approx(expected_spearman, abs=1e-12)
    assert result["subsets"]["SNVs"]["n"] == 7
    assert result["subsets"]["high"]["pearson_r2"] == pytest.approx(r_by_subset["high"] ** 2, abs=1e-12)
    assert 0.0 < expected_pearson < 1.0


def test_dream_score_pair_subsets_compare_differences_not_values():
    rng = np.random.default_rng(2)
    measured = rng.normal(size=20)
    offsets = np.repeat(rng.normal(scale=5.0, size=10), 2)
    predicted = measured + offsets  # each pair shifted by its own constant: differences exact
    pairs = np.arange(20).reshape(10, 2)
    result = metrics.dream_score(predicted, measured, {"SNVs": pairs})
    assert result["subsets"]["SNVs"]["pearson_r"] == pytest.approx(1.0)
    assert result["subsets"]["all"]["pearson_r"] < 0.5
    # With only "all" and "SNVs" the divisor is their weight sum, 2.25.
    expected = (result["subsets"]["all"]["pearson_r2"] + 1.25) / 2.25
    assert result["pearson_score"] == pytest.approx(expected)


def test_dream_score_rejects_bad_subsets():
    measured, predicted, _ = _dream_case()
    with pytest.raises(ValueError, match="unknown DREAM subset"):
        metrics.dream_score(predicted, measured, {"yeast": np.arange(5)})
    with pytest.raises(ValueError, match=r"\(m, 2\)"):
        metrics.dream_score(predicted, measured, {"SNVs": np.arange(6)})
    with pytest.raises(ValueError, match="index 60 is outside"):
        metrics.dream_score(predicted, measured, {"high": np.array([1, 60])})
