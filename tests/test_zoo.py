"""The model zoo: every backbone x head pair passes the plug-in checks of ``dream_keras.testing``.

The checks are build, JSON and ``.keras`` round trips, tf.data and SavedModel export, as third-party parts
pass them; and the published sizes.

Small widths keep the pair checks fast; the published sizes are asserted on full-size builds
(building allocates weights but trains nothing).
"""


import h5py
import keras
import numpy as np
import pytest

import dream_keras
from dream_keras import IncompatibleHeadError, SequenceModel, build_model, register_backbone, register_head, registry
from dream_keras.testing import random_one_hot, run_backbone_test, run_head_test

# Keras's own .keras writer trips NumPy 2's copy-keyword deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

BACKBONES = ["bpnet", "deepstarr", "dream_cnn", "dream_rnn", "mprann"]
HEADS = ["deepstarr", "mprann", "profile_count", "regression", "soft_bins"]

# Small widths for every part (the published defaults are exercised by the size table below).
TINY_BACKBONE_OPTIONS = {
    "bpnet": {"filters": 8, "n_dil_layers": 2},
    "deepstarr": {"filters": [8, 4, 4, 8]},
    "dream_cnn": {"first_filters": 8, "core_channels": [8, 4]},
    "dream_rnn": {"first_filters": 8, "lstm_units": 4, "core_filters": 8},
    "mprann": {"filters": [8, 8, 8, 4]},
}
TINY_HEAD_OPTIONS = {
    "deepstarr": {"dense_units": [8, 8]},
    "mprann": {"dense_units": [8, 4]},
    "profile_count": {"output_length": 16},
    "regression": {"mapper_filters": 8},
    "soft_bins": {},
}
CHANNELS = 4
BATCH = 3

# The heads that pool (soft_bins, regression) or flatten (deepstarr, mprann) take features of any
# known length, so every tiny backbone feeds them at a short input. profile_count needs features of
# output_length + 74 = 90 positions: the smallest input that gives them, per tiny backbone
# (worked out by hand from each tower's arithmetic):
SHORT_INPUT = 40
PROFILE_MIN_INPUT = {
    "bpnet": 90 + 20 + 2 * (2 + 4),  # 1st conv loses 20, dilated layers 2 * 2**i each
    "deepstarr": 90 * 16,  # four pools of 2, each flooring
    "dream_cnn": 90,  # `same` padding keeps the length
    "dream_rnn": 90,
    "mprann": 199,  # floor((L - 6 - 7) / 2) - 2 - 1 >= 90
}
# Every backbone x head pair is compatible given a long enough input: all our towers have a static
# output length (so the flatten heads can follow them) and keep at least one position at these
# inputs (so the pooling heads can), so the pair test covers the full cross product. (Compatible is
# not always sensible: at full size a flatten head after bpnet's 1,074 x 512 features would hold
# 141 million parameters.)
COMPATIBLE_PAIRS = [(backbone, head) for backbone in BACKBONES for head in HEADS]

# Output names and per-example shapes of each tiny head.
EXPECTED_OUTPUTS = {
    "deepstarr": {"Dev": (1,), "Hk": (1,)},
    "mprann": {"activity": (1,)},
    "profile_count": {"profile": (16,), "logcounts": (1,)},
    "regression": {"activity": (1,)},
    "soft_bins": {"bins": (18,), "expression": (1,)},
}




def _one_hot(length, seed=0, batch=BATCH):
    return random_one_hot(batch, length, CHANNELS, seed)


def _outputs(model, x):
    """Deterministic (inference-mode) outputs as numpy arrays."""
    return {name: keras.ops.convert_to_numpy(value) for name, value in model(x, training=False).items()}


def _assert_same_outputs(actual, expected, atol):
    assert sorted(actual) == sorted(expected)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=0, atol=atol, err_msg=name)


def test_registries_list_the_zoo():
    backbones = [name for name in dream_keras.list_backbones() if not name.startswith("test_")]
    assert backbones == BACKBONES
    assert [name for name in dream_keras.list_heads() if not name.startswith("test_")] == HEADS


@pytest.mark.parametrize("backbone", BACKBONES)
def test_every_backbone_passes_the_plug_in_checks_with_every_head(backbone, tmp_path):
    """dream_keras.testing, as a plug-in author runs it, with every head.

    Build, JSON and .keras round trips, tf.data, with every head (all 25 pairs are compatible). The
    SavedModel export of these five pairs (bpnet + profile_count, dream_cnn + soft_bins, dream_rnn +
    regression, deepstarr, mprann) is checked against the Keras model by tests/test_export.py, on each task's
    own inputs.
    """
    reports = run_backbone_test(backbone, backbone_options=TINY_BACKBONE_OPTIONS[backbone],
                                head_options=TINY_HEAD_OPTIONS,
                                input_length={"profile_count": PROFILE_MIN_INPUT[backbone]},
                                default_input_length=SHORT_INPUT, channels=CHANNELS,
                                expected_outputs=EXPECTED_OUTPUTS, folder=tmp_path)
    assert sorted(reports) == HEADS == sorted(head for b, head in COMPATIBLE_PAIRS if b == backbone)
    for head, report in reports.items():
        assert (report.backbone, report.head) == (backbone, head)
        assert report.input_shape == (PROFILE_MIN_INPUT[backbone] if head == "profile_count" else SHORT_INPUT, CHANNELS)
        assert not report.exported and report.parameters > 0


@pytest.mark.parametrize("backbone", BACKBONES)
def test_soft_bins_expression_is_the_expected_bin(backbone):
    model = build_model(backbone, "soft_bins", input_length=SHORT_INPUT, channels=CHANNELS,
                        **TINY_BACKBONE_OPTIONS[backbone])
    assert isinstance(model, SequenceModel)
    outputs = _outputs(model, _one_hot(SHORT_INPUT))
    np.testing.assert_allclose(outputs["bins"].sum(axis=1), 1.0, atol=1e-5)
    expected = (outputs["bins"] * np.arange(18)).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(outputs["expression"], expected, atol=1e-5)


# The table of published sizes: (backbone, head, options, trainable, non-trainable or None).
# DREAM-CNN's non-trainable weights are BatchNorm's moving mean and variance over 5,376 channels
# (per stage 4s + 4s + prev + s: 1,472 + 1,280 + 704 + 3 x 640).
PUBLISHED_SIZES = [
    ("dream_cnn", "soft_bins", {}, 1_933_970, 10_752),
    ("dream_rnn", "soft_bins", {}, 4_128_018, 0),
    ("dream_cnn", "regression", {"input_length": 249, "channels": 5, "task_names": ["Dev", "Hk"]}, 1_962_754, 10_752),
    ("dream_rnn", "regression", {"input_length": 249, "channels": 5, "task_names": ["Dev", "Hk"]}, 4_283_266, 0),
    ("dream_cnn", "profile_count", {}, 1_929_986, 10_752),
    ("dream_rnn", "profile_count", {}, 4_138_882, 0),
    ("deepstarr", None, {}, 622_722, 2_016),
    ("mprann", None, {}, 3_957_751, 1_700),
    ("bpnet", None, {}, 6_377_986, 0),
    ("bpnet", None, {"filters": 128, "n_dil_layers": 4, "layer_prefix": ""}, 217_730, 0),
]


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


@pytest.mark.parametrize("backbone,head,options,trainable,non_trainable", PUBLISHED_SIZES)
def test_published_parameter_counts(backbone, head, options, trainable, non_trainable):
    model = build_model(backbone, head, **options)
    assert _count(model.trainable_weights) == trainable
    assert _count(model.non_trainable_weights) == non_trainable


def _std_ratio(weight, expected_std):
    return float(np.std(keras.ops.convert_to_numpy(weight))) / expected_std


def test_dream_cnn_initialisation_follows_the_pytorch_original():
    """Autosome core and head: He-normal over fan-out, Dense N(0, 0.001), zero biases.

    The BHI first block keeps PyTorch's default U(+-1/sqrt(fan_in)); BatchNorm as PyTorch's.
    """
    model = build_model("dream_cnn")
    resize = model.get_layer("core0_resize_conv").kernel  # (7, 640, 128): 573,440 draws
    assert abs(_std_ratio(resize, np.sqrt(2 / (7 * 128))) - 1) < 0.02
    grouped = model.get_layer("core0_grouped_conv")
    assert tuple(grouped.kernel.shape) == (7, 2, 512) and grouped.groups == 256
    assert abs(_std_ratio(grouped.kernel, np.sqrt(2 / (7 * 512))) - 1) < 0.05
    squeeze = model.get_layer("core0_se_squeeze")
    assert tuple(squeeze.kernel.shape) == (512, 80)
    assert abs(_std_ratio(squeeze.kernel, 0.001) - 1) < 0.05
    assert not np.any(keras.ops.convert_to_numpy(squeeze.bias))
    mapper = model.get_layer("soft_bins_mapper")
    assert abs(_std_ratio(mapper.kernel, np.sqrt(2 / 18)) - 1) < 0.15
    assert not np.any(keras.ops.convert_to_numpy(mapper.bias))
    first = model.get_layer("first_conv_k15")  # fan_in 6 x 15
    bound = 1 / np.sqrt(6 * 15)
    for weight in (first.kernel, first.bias):
        values = keras.ops.convert_to_numpy(weight)
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    batch_norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(batch_norms) == 6 * 4
    assert {(layer.momentum, layer.epsilon) for layer in batch_norms} == {(0.9, 1e-5)}


def test_dream_rnn_lstm_initialisation_follows_pytorch():
    """Every LSTM weight and bias U(+-1/sqrt(units)); no Keras forget-gate bias of 1."""
    model = build_model("dream_rnn", first_filters=8, core_filters=8)
    bound = 1 / np.sqrt(320)
    lstm = model.get_layer("core_bilstm")
    assert len(lstm.weights) == 6  # kernel, recurrent kernel, one bias; per direction
    for weight in lstm.weights:
        values = keras.ops.convert_to_numpy(weight)
        assert np.abs(values).max() <= bound
        assert abs(np.std(values) / (bound / np.sqrt(3)) - 1) < 0.15
    forget_bias = keras.ops.convert_to_numpy(lstm.forward_layer.cell.bias)[320:640]
    assert abs(forget_bias.mean()) < 0.01


@pytest.mark.parametrize("backbone,head,input_shape,alphabet,outputs", [
    ("dream_cnn", "soft_bins", (150, 6), "AGCT", {"bins": (18,), "expression": (1,)}),
    ("dream_rnn", "soft_bins", (150, 6), "AGCT", {"bins": (18,), "expression": (1,)}),
    ("deepstarr", "deepstarr", (249, 4), "ACGT", {"Dev": (1,), "Hk": (1,)}),
    ("mprann", "mprann", (230, 4), "ACGT", {"activity": (1,)}),
    ("bpnet", "profile_count", (2114, 4), "ACGT", {"profile": (1000,), "logcounts": (1,)}),
])
def test_defaults_are_the_published_models(backbone, head, input_shape, alphabet, outputs):
    model = build_model(backbone)
    assert model.head_name == head
    assert tuple(model.inputs[0].shape[1:]) == input_shape
    assert model.alphabet == alphabet
    assert {name: tuple(t.shape[1:]) for name, t in model.output.items()} == outputs


@pytest.mark.parametrize("backbone,head,options,outputs", [
    ("dream_cnn", "regression", {"task_names": ["a", "b", "c"]}, {"a": (1,), "b": (1,), "c": (1,)}),
    ("mprann", "mprann", {"num_tasks": 2}, {"task_0": (1,), "task_1": (1,)}),
    ("deepstarr", "deepstarr", {"task_names": ["Dev"]}, {"Dev": (1,)}),
    ("bpnet", "profile_count", {"num_tasks": 2, "input_length": 300}, {"profile": (32,), "logcounts": (2,)}),
])
def test_heads_take_their_task_options(backbone, head, options, outputs):
    options = {"input_length": SHORT_INPUT, **TINY_BACKBONE_OPTIONS[backbone], **TINY_HEAD_OPTIONS[head], **options}
    model = build_model(backbone, head, **options)
    assert {name: tuple(t.shape[1:]) for name, t in model.output.items()} == outputs


def test_dream_backbone_with_profile_count_takes_the_atac_input():
    """The head's input defaults (2,114 x 4, ACGT) win over the DREAM backbone's (150 x 6, AGCT)."""
    model = build_model("dream_cnn", "profile_count", first_filters=8, core_channels=[8])
    assert tuple(model.inputs[0].shape[1:]) == (2114, 4)
    assert model.alphabet == "ACGT"


@pytest.mark.parametrize("backbone", BACKBONES)
def test_profile_count_too_short_names_the_smallest_input(backbone):
    too_short = PROFILE_MIN_INPUT[backbone] - 1
    with pytest.raises(IncompatibleHeadError) as caught:
        build_model(backbone, "profile_count", input_length=too_short, channels=CHANNELS,
                    **TINY_BACKBONE_OPTIONS[backbone], **TINY_HEAD_OPTIONS["profile_count"])
    message = str(caught.value)
    assert "'profile_count'" in message and f"'{backbone}'" in message
    assert "output_length + 74 = 90" in message
    assert f"the smallest input_length that would work is {PROFILE_MIN_INPUT[backbone]}" in message
    assert caught.value.min_feature_length == 90


def test_profile_count_crops_the_centre_with_the_odd_base_on_the_right():
    """Features of 95 positions -> 21 after the 75-wide conv -> crop 2 left, 3 right to 16."""
    from dream_keras.heads.profile_count import centre_crop_widths

    assert centre_crop_widths(21, 16) == (2, 3)
    assert centre_crop_widths(2040, 1000) == (520, 520)  # the ChromBPNet case: symmetric
    model = build_model("dream_cnn", "profile_count", input_length=95, channels=CHANNELS,
                        first_filters=8, core_channels=[8], output_length=16)
    crop = model.get_layer("profile_crop")
    assert crop.cropping == (2, 3)
    # Only the BPNet backbone takes ChromBPNet's layer names; other backbones name the head plainly.
    names = {layer.name for layer in model.layers}
    assert {"profile_conv", "profile_crop", "profile_logits", "gap", "logcounts_dense"} <= names
    assert not any("bpnet" in name for name in names) and "layer_prefix" not in model.get_config()
    # .keras files written before kept layer_prefix="wo_bias_" in their config and rebuild with those names.
    earlier = build_model("dream_cnn", "profile_count", input_length=95, channels=CHANNELS, first_filters=8,
                          core_channels=[8], output_length=16, layer_prefix="wo_bias_")
    assert earlier.get_layer("wo_bias_bpnet_logitt_before_flatten").cropping == (2, 3)
    assert tuple(model.output["profile"].shape) == (None, 16)


@pytest.fixture(scope="module")
def third_party_parts():
    """A backbone and a head registered the way a plug-in package registers them.

    Through the decorators (each layer named in the builder); and a backbone whose layer Keras names by its
    global counter.
    """

    @register_backbone("test_plain_conv", defaults={"width": 8})
    def plain_conv(x, width=8):
        return keras.layers.Conv1D(width, 5, padding="same", activation="relu", name="plain_conv")(x)

    @register_head("test_mean_head")
    def mean_head(features, units: int = 2):
        pooled = keras.layers.GlobalAveragePooling1D(name="mean_head_pool")(features)
        return {"mean": keras.layers.Dense(units, name="mean_head_dense")(pooled)}

    @register_backbone("test_unnamed_conv")
    def unnamed_conv(x):
        return keras.layers.Conv1D(4, 5, padding="same")(x)

    yield "test_plain_conv", "test_mean_head"
    for name in ("test_plain_conv", "test_unnamed_conv"):
        registry._BACKBONES.pop(name)  # leave the registries as they were
    registry._HEADS.pop("test_mean_head")


def test_third_party_backbone_passes_the_checks_with_every_head(third_party_parts, tmp_path):
    backbone, _ = third_party_parts
    assert backbone in dream_keras.list_backbones()
    reports = run_backbone_test(backbone, backbone_options={"width": 6}, head_options=TINY_HEAD_OPTIONS,
                                input_length={"profile_count": 90}, default_input_length=SHORT_INPUT,
                                channels=CHANNELS, heads=HEADS, export=["regression"],
                                expected_outputs=EXPECTED_OUTPUTS, folder=tmp_path)
    assert sorted(reports) == HEADS
    # 6 filters of width 5 over 4 channels, then the regression head's 1x1 mapper (8) and Dense(1) per task
    assert reports["regression"].parameters == (5 * 4 * 6 + 6) + (6 * 8 + 8) + (8 + 1)


def test_third_party_head_passes_the_checks_after_the_backbones(third_party_parts):
    _, head = third_party_parts
    backbones = ["bpnet", "deepstarr", "mprann"]  # the quick ones (the pair checks above cover the others)
    reports = run_head_test(head, head_options={"units": 3}, backbone_options=TINY_BACKBONE_OPTIONS,
                            default_input_length=SHORT_INPUT, channels=CHANNELS, backbones=backbones,
                            expected_outputs={backbone: {"mean": (3,)} for backbone in backbones})
    assert sorted(reports) == backbones
    assert reports["bpnet"].parameters == 8 * 4 * 21 + 8 + 2 * (8 * 8 * 3 + 8) + (8 * 3 + 3)


def test_the_checks_catch_a_layer_named_by_keras_counters(third_party_parts):
    with pytest.raises(AssertionError, match="name every layer in the builder"):
        run_backbone_test("test_unnamed_conv", default_input_length=SHORT_INPUT, heads=["regression"],
                          head_options=TINY_HEAD_OPTIONS)


def test_a_head_that_cannot_follow_is_left_out_and_a_pair_that_fails_otherwise_is_not():
    reports = run_backbone_test("bpnet", backbone_options=TINY_BACKBONE_OPTIONS["bpnet"],
                                head_options=TINY_HEAD_OPTIONS, default_input_length=PROFILE_MIN_INPUT["bpnet"] - 1,
                                heads=["profile_count", "regression"])
    assert sorted(reports) == ["regression"] and sorted(reports.refused) == ["profile_count"]
    assert "cannot follow backbone 'bpnet'" in reports.refused["profile_count"]
    with pytest.raises(AssertionError, match="no pair with 'bpnet' builds"):
        run_backbone_test("bpnet", backbone_options=TINY_BACKBONE_OPTIONS["bpnet"], head_options=TINY_HEAD_OPTIONS,
                          default_input_length=PROFILE_MIN_INPUT["bpnet"] - 1, heads=["profile_count"])
    with pytest.raises(AssertionError, match=r"outputs \{'activity': \(1,\)\} instead of"):
        run_backbone_test("bpnet", backbone_options=TINY_BACKBONE_OPTIONS["bpnet"], head_options=TINY_HEAD_OPTIONS,
                          default_input_length=SHORT_INPUT, heads=["regression"],
                          expected_outputs={"regression": {"activity": (2,)}})


def _load_official_weights(model, path):
    """Set every weighted layer of ``model`` from an official ChromBPNet HDF5 file.

    Set every weighted layer of ``model`` from the layer of the same name in an official ChromBPNet HDF5 file (Keras 2
    layout: model_weights/<layer>/<layer>/{kernel,bias}:0).
    """
    with h5py.File(path, "r") as stored:
        group = stored["model_weights"]
        weighted = [layer for layer in model.layers if layer.weights]
        assert sorted(layer.name for layer in weighted) == sorted(name for name in group if len(group[name]))
        for layer in weighted:
            values = group[layer.name][layer.name]
            layer.set_weights([values["kernel:0"][()], values["bias:0"][()]])


@pytest.mark.parametrize("file_name,options,golden", [
    ("small_bias.h5", {"filters": 16, "n_dil_layers": 2, "layer_prefix": ""}, "bias"),
    ("small_chrombpnet_nobias.h5", {"filters": 32, "n_dil_layers": 8, "layer_prefix": "wo_bias_"}, "nobias"),
])
def test_bpnet_matches_the_official_chrombpnet_files(data_dir, file_name, options, golden):
    """Official weights map onto bpnet + profile_count by layer name and predict the official numbers."""
    folder = data_dir / "chrombpnet_ref"
    reference = np.load(folder / "small_golden.npz")
    model = build_model("bpnet", **options)
    _load_official_weights(model, folder / file_name)
    outputs = _outputs(model, reference["sequence_onehot"])
    np.testing.assert_allclose(outputs["profile"], reference[f"{golden}_logits"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(outputs["logcounts"], reference[f"{golden}_logcounts"], rtol=0, atol=1e-4)


def test_dtype_and_trainable_are_honoured_and_reload_from_the_config(tmp_path):
    """build_model(dtype=..., trainable=...) builds, freezes and reloads as asked.

    build_model(dtype=..., trainable=...) builds under that policy and freezes, and the .keras file reloads the same way
    under the default float32 policy.
    """
    options = dict(input_length=249, filters=[4, 4, 4, 4], dense_units=[8, 8])
    model = build_model("deepstarr", dtype="mixed_bfloat16", trainable=False, **options)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    conv = model.get_layer(index=1)
    assert (conv.compute_dtype, conv.variable_dtype) == ("bfloat16", "float32")
    assert model.trainable_weights == [] and len(model.weights) > 0
    assert model.get_config()["dtype"] == "mixed_bfloat16" and model.get_config()["trainable"] is False
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(3, 249))]
    before = _outputs(model, x)
    model.save(tmp_path / "bf16.keras")
    reloaded = dream_keras.load_model(tmp_path / "bf16.keras")
    assert reloaded.get_layer(index=1).compute_dtype == "bfloat16" and reloaded.trainable_weights == []
    _assert_same_outputs(_outputs(reloaded, x), before, atol=0)
    # without the arguments: the global policy at build time, trainable, nothing extra in the config
    plain = build_model("deepstarr", **options)
    assert plain.get_layer(index=1).compute_dtype == "float32" and plain.trainable_weights
    assert "dtype" not in plain.get_config() and "trainable" not in plain.get_config()
