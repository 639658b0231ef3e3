"""The bias stage: factorised models on every profile_count backbone, nonpeak selection, scaling, QC.

Tiny models keep this fast; the real ATAC fixture (tests/data/atac_mm10) supplies peaks and
GC-matched nonpeaks for selection, scaling and QC.
"""

import keras
import numpy as np
import pytest
import scipy.stats

from bias_models import (
    BiasFactorizedModel,
    bias_count_qc,
    bias_model_options,
    build_bias_model,
    count_qc,
    enzyme_motifs,
    footprint_qc,
    keep_windows,
    logcount_offset,
    scale_bias_logcounts,
    select_bias_nonpeaks,
    with_bias,
    without_bias,
)
from bias_models.qc import footprint_reaches_threshold, footprint_verdict
from data_prep import extract_windows, load_fold, make_nonpeaks, read_narrowpeak, split_of
from data_prep.errors import InputError
from dream_keras import build_model
from dream_keras.losses import chrombpnet_loss
from dream_keras.testing import check_model

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

INPUT_LENGTH, OUTPUT_LENGTH = 128, 16
TINY = {
    "bpnet": {"filters": 8, "n_dil_layers": 2},
    "dream_cnn": {"first_filters": 8, "core_channels": [8, 4]},
    "dream_rnn": {"first_filters": 8, "lstm_units": 4, "core_filters": 8},
}
TINY_BIAS = {"filters": 4, "n_dil_layers": 1}


def _one_hot(n, length=INPUT_LENGTH, seed=0):
    return np.eye(4, dtype="float32")[np.random.default_rng(seed).integers(0, 4, size=(n, length))]


def _tiny_pair(backbone):
    model = build_model(backbone, "profile_count", input_length=INPUT_LENGTH, output_length=OUTPUT_LENGTH,
                        **TINY[backbone])
    bias = build_bias_model(INPUT_LENGTH, OUTPUT_LENGTH, **TINY_BIAS)
    return model, bias


def _numpy(outputs):
    return {name: keras.ops.convert_to_numpy(value) for name, value in outputs.items()}


@pytest.mark.parametrize("backbone", list(TINY))
def test_factorised_outputs_are_the_sum_and_logsumexp_of_the_parts(backbone):
    model, bias = _tiny_pair(backbone)
    combined = with_bias(model, bias)
    x = _one_hot(3)
    parts, bias_parts = _numpy(model(x, training=False)), _numpy(bias(x, training=False))
    outputs = _numpy(combined(x, training=False))
    np.testing.assert_allclose(outputs["profile"], parts["profile"] + bias_parts["profile"], rtol=0, atol=1e-6)
    expected_logcounts = np.logaddexp(parts["logcounts"].astype(np.float64), bias_parts["logcounts"])
    np.testing.assert_allclose(outputs["logcounts"], expected_logcounts, rtol=0, atol=1e-6)
    assert isinstance(combined, BiasFactorizedModel) and combined.inputs[0].name == "sequence"
    assert (combined.input_length, combined.channels, combined.alphabet) == (INPUT_LENGTH, 4, "ACGT")
    assert (combined.head_name, combined.backbone_name) == ("profile_count", backbone)
    assert without_bias(combined) is model
    assert combined.bias_model is bias and not bias.trainable
    assert combined.count_params() == model.count_params() + bias.count_params()


@pytest.mark.parametrize("backbone", list(TINY))
def test_a_training_step_moves_the_model_but_not_the_bias(backbone):
    # seeded: with some random initial weights a ReLU unit is dead for these 4 examples and one
    # variable gets no gradient (1 run in about 5 unseeded)
    keras.utils.set_random_seed(0)
    model, bias = _tiny_pair(backbone)
    combined = with_bias(model, bias)
    loss, loss_weights = chrombpnet_loss(1.0)
    # Eagerly: a single step does not repay tracing the training graph.
    combined.compile(keras.optimizers.Adam(1e-2), loss=loss, loss_weights=loss_weights, run_eagerly=True)
    x = _one_hot(4, seed=1)
    counts = np.random.default_rng(2).poisson(3.0, size=(4, OUTPUT_LENGTH)).astype("float32")
    targets = {"profile": counts, "logcounts": np.log1p(counts.sum(axis=1, keepdims=True))}
    bias_before = [w.copy() for w in bias.get_weights()]
    model_before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    combined.fit(x, targets, batch_size=4, epochs=1, verbose=0)
    for before, after in zip(bias_before, bias.get_weights()):
        np.testing.assert_array_equal(before, after)
    changed = [not np.array_equal(before, keras.ops.convert_to_numpy(after))
               for before, after in zip(model_before, model.trainable_weights)]
    assert len(changed) > 0 and all(changed), f"{changed.count(False)} of {len(changed)} variables did not move"


@pytest.mark.parametrize("backbone", list(TINY))
def test_factorised_model_passes_the_model_checks(backbone, tmp_path):
    """dream_keras.testing's checks (JSON and .keras round trips, tf.data), then what is its own.

    The bias part stays frozen after loading.
    """
    combined = with_bias(*_tiny_pair(backbone))
    report = check_model(combined, _one_hot(2, seed=3), folder=tmp_path,
                         expected_outputs={"profile": (OUTPUT_LENGTH,), "logcounts": (1,)})
    assert (report.backbone, report.head, report.input_shape) == (backbone, "profile_count", (INPUT_LENGTH, 4))
    reloaded = keras.models.load_model(tmp_path / f"{combined.name}.keras")
    assert isinstance(reloaded, BiasFactorizedModel) and not reloaded.bias_model.trainable
    assert len(reloaded.non_trainable_weights) == len(combined.non_trainable_weights) > 0
    assert (reloaded.backbone_name, reloaded.input_length) == (backbone, INPUT_LENGTH)


def test_parts_that_disagree_are_refused_by_name():
    model = build_model("dream_cnn", "profile_count", input_length=INPUT_LENGTH, output_length=OUTPUT_LENGTH,
                        **TINY["dream_cnn"])
    longer_bias = build_bias_model(INPUT_LENGTH + 8, OUTPUT_LENGTH, **TINY_BIAS)
    with pytest.raises(InputError, match=r"'dream_cnn_profile_count' \(backbone 'dream_cnn'\).*bias model "
                                         r"'bpnet_profile_count'.*input.*\(128, 4\) vs \(136, 4\)"):
        with_bias(model, longer_bias)
    other_output = build_bias_model(INPUT_LENGTH, OUTPUT_LENGTH + 2, **TINY_BIAS)
    with pytest.raises(InputError, match=r"output 'profile': \(16,\) vs \(18,\)"):
        with_bias(model, other_output)
    regression = build_model("dream_cnn", "regression", input_length=INPUT_LENGTH, first_filters=8,
                             core_channels=[8, 4], mapper_filters=8)
    with pytest.raises(InputError, match="dict outputs 'profile' and 'logcounts'"):
        with_bias(regression, build_bias_model(INPUT_LENGTH, OUTPUT_LENGTH, **TINY_BIAS))
    with pytest.raises(InputError, match="not bias-factorised"):
        without_bias(model)


def test_default_bias_model_is_the_official_one():
    assert bias_model_options() == {"filters": 128, "n_dil_layers": 4, "layer_prefix": "", "input_length": 2114,
                                    "output_length": 1000}
    model = build_bias_model()
    # 21*4*128 + 128, 4 x (3*128*128 + 128), 75*128 + 1, 128 + 1
    assert model.count_params() == 10880 + 4 * 49280 + 9601 + 129 == 217730
    names = {layer.name for layer in model.layers if layer.weights}
    assert names == {"bpnet_1st_conv", "bpnet_1conv", "bpnet_2conv", "bpnet_3conv", "bpnet_4conv",
                     "prof_out_precrop", "logcount_predictions"}


def test_bias_nonpeak_selection_follows_the_official_rule():
    peak_totals = np.arange(100, 200)  # 0.01 quantile 100.99, x 0.5 = 50.495
    nonpeak_totals = np.array([0, 0, 3, 5, 10, 20, 50, 50.4, 51, 400, 7])
    selection = select_bias_nonpeaks(peak_totals, nonpeak_totals, 0.5)
    assert selection.threshold == pytest.approx(50.495)
    assert selection.n_below_threshold == 9  # all but 51 and 400
    # Outlier bounds from the 9 below the threshold: 0.0001 quantile 0 and 0.9999 quantile
    # 50 + 0.9992 * 0.4; strict bounds drop the zeros and the largest (50.4).
    assert (selection.lower, selection.upper) == (0.0, pytest.approx(50.39968))
    np.testing.assert_array_equal(selection.keep, [0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1])
    assert selection.counts_loss_weight == 1.0  # median 8.5 / 10, floored at 1
    deeper = select_bias_nonpeaks(peak_totals * 10, nonpeak_totals * 10, 0.5)
    np.testing.assert_array_equal(deeper.keep, selection.keep)
    assert deeper.counts_loss_weight == pytest.approx(8.5)
    dnase = select_bias_nonpeaks(peak_totals, nonpeak_totals, 0.8)  # threshold 80.792 lets 51 in
    np.testing.assert_array_equal(dnase.keep, [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1])


def test_bias_nonpeak_selection_errors_name_the_knob():
    with pytest.raises(InputError, match="raise bias_threshold_factor"):
        select_bias_nonpeaks(np.arange(100, 200), np.array([60.0, 70.0]), 0.5)
    with pytest.raises(InputError, match="left no nonpeak"):
        select_bias_nonpeaks(np.arange(100, 200), np.zeros(5), 0.5)


@pytest.fixture(scope="module")
def fold0_windows(atac):
    """Fold 0 of the real ATAC fixture: peak and nonpeak windows (2,114 / 1,000 bp) with splits."""
    root = atac
    fold = load_fold(root / "folds" / "fold_0.json")
    peaks = read_narrowpeak(root / "peaks.narrowPeak")
    nonpeaks = make_nonpeaks(root / "genome.fa", peaks, root / "chrom.sizes", fold, ratio_trainvalid=3, seed=0)
    windows = {name: extract_windows(regions, root / "genome.fa", root / "tn5_insertions.bw", 2114, 1000)
               for name, regions in (("peaks", peaks), ("nonpeaks", nonpeaks))}
    splits = {name: split_of(w.regions, fold).to_numpy() for name, w in windows.items()}
    return windows, splits


def test_selection_on_the_real_fixture(fold0_windows):
    windows, splits = fold0_windows
    peak_totals = windows["peaks"].counts.sum(axis=1)[splits["peaks"] != "test"]
    train_valid = keep_windows(windows["nonpeaks"], splits["nonpeaks"] != "test")
    totals = train_valid.counts.sum(axis=1)
    selection = select_bias_nonpeaks(peak_totals, totals, 0.5)
    assert selection.threshold == pytest.approx(np.quantile(peak_totals, 0.01) * 0.5)
    kept = keep_windows(train_valid, selection.keep)
    assert 0 < len(kept.sequences) < len(train_valid.sequences)
    assert kept.counts.sum(axis=1).max() < selection.threshold and kept.counts.sum(axis=1).min() > 0
    assert len(kept.regions) == len(kept.sequences)


def test_scaling_zeroes_the_mean_logcount_residual_on_real_nonpeaks(fold0_windows):
    windows, splits = fold0_windows
    nonpeaks = keep_windows(windows["nonpeaks"], splits["nonpeaks"] != "test")
    totals = nonpeaks.counts.sum(axis=1)
    bias = build_bias_model(2114, 1000, **TINY_BIAS)
    original = [w.copy() for w in bias.get_weights()]
    residual_before = logcount_offset(bias, nonpeaks.sequences, totals)
    assert abs(residual_before) > 0.1
    scaled = scale_bias_logcounts(bias, nonpeaks.sequences, totals)
    assert scaled is not bias
    for before, after in zip(original, bias.get_weights()):
        np.testing.assert_array_equal(before, after)  # the input model is left as it was
    assert abs(logcount_offset(scaled, nonpeaks.sequences, totals)) < 1e-5
    x = nonpeaks.sequences[:4].astype("float32")
    old, new = _numpy(bias(x, training=False)), _numpy(scaled(x, training=False))
    np.testing.assert_array_equal(new["profile"], old["profile"])
    np.testing.assert_allclose(new["logcounts"], old["logcounts"] + residual_before, rtol=0, atol=1e-5)
    with pytest.raises(InputError, match="not from a Dense layer"):
        scale_bias_logcounts(with_bias(build_model("bpnet", input_length=2114, filters=4, n_dil_layers=1), scaled),
                             nonpeaks.sequences, totals)


def test_count_qc_verdicts():
    observed_totals = np.expm1(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert count_qc(np.arange(5.0), observed_totals).verdict == "pass"
    failed = count_qc(-np.arange(5.0), observed_totals)
    assert failed.verdict == "fail" and failed.pearsonr == pytest.approx(-1.0)
    warned = count_qc(np.array([0.3, 0.1, 0.2, 0.0, 0.2]), observed_totals)
    assert warned.pearsonr == pytest.approx(-0.3 / np.sqrt(0.52), abs=1e-9) and warned.verdict == "warn"
    assert count_qc(np.ones(5), observed_totals).verdict == "fail"  # undefined r


def test_footprint_verdict_rounds_like_the_official_code():
    assert footprint_verdict({"tn5_1": 0.0024, "tn5_2": 0.0011})[0] == "corrected"
    verdict, message = footprint_verdict({"tn5_1": 0.0024, "tn5_2": 0.0026})  # 0.0026 rounds to 0.003
    assert verdict == "uncorrected"
    # the motif over the threshold, with enough digits to see why, the threshold and the rounding named
    assert "enzyme motifs: tn5_2 0.00260 (rounds to 0.003) reaches the threshold 0.003" in message
    assert "maxima from 0.0025 on fail" in message and "below it: tn5_1 0.00240 (rounds to 0.002)" in message
    assert [footprint_reaches_threshold(v) for v in (0.00249, 0.0025, 0.0026, float("nan"))] == [False, True, True,
                                                                                                  True]
    assert list(enzyme_motifs("ATAC")) == ["tn5_1", "tn5_2", "tn5_3", "tn5_4", "tn5_5"]
    assert enzyme_motifs("dnase")["dnase_1"] == "TTTACAAGTCCA"


def test_qc_on_the_real_fixture(fold0_windows):
    windows, splits = fold0_windows
    bias = build_bias_model(2114, 1000, **TINY_BIAS)
    peaks = windows["peaks"]
    result = bias_count_qc(bias, peaks.sequences, peaks.counts.sum(axis=1))
    predicted = _numpy(bias(peaks.sequences.astype("float32"), training=False))["logcounts"][:, 0]
    expected = scipy.stats.pearsonr(np.log1p(peaks.counts.sum(axis=1).astype(np.float64)), predicted)[0]
    assert result.pearsonr == pytest.approx(expected, abs=1e-5)
    # the verdict band of that r (fail <= -0.5 < warn <= -0.3 < pass), and the r in the message
    assert result.verdict == ("fail" if expected <= -0.5 else "warn" if expected <= -0.3 else "pass")
    assert f"{expected:.3f}" in result.message

    nobias = build_model("bpnet", input_length=2114, output_length=1000, filters=4, n_dil_layers=1)
    test_nonpeaks = keep_windows(windows["nonpeaks"], splits["nonpeaks"] == "test")
    footprints = footprint_qc(nobias, test_nonpeaks.sequences, assay="ATAC")
    assert list(footprints.max_by_motif) == ["tn5_1", "tn5_2", "tn5_3", "tn5_4", "tn5_5"]
    for value in footprints.max_by_motif.values():
        # A normalised footprint sums to 1 over 1,000 positions, so its maximum is at least 0.001.
        assert np.isfinite(value) and 0.001 <= value <= 1.0
    assert footprints.verdict == footprint_verdict(footprints.max_by_motif)[0]
