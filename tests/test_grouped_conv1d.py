"""GroupedConv1D computes keras.layers.Conv1D(groups=...)'s function with the same variables."""

from __future__ import annotations

import pathlib

import keras
import numpy as np
import pytest
from layer_pairs import assert_same_function, same_weights

from dream_keras import build_model
from dream_keras.layers import GroupedConv1D
from dream_keras.saving import load_model
from dream_keras.testing import check_model

DATA = pathlib.Path(__file__).parent / "data"
#: Saved before GroupedConv1D existed (keras.layers.Conv1D(groups=...) in every grouped layer), with
#: that code's predictions on a fixed input.
OLD_FILE = DATA / "dream_cnn_conv1d_groups.keras"
OLD_PREDICTIONS = DATA / "dream_cnn_conv1d_groups_predictions.npz"
TINY_DREAM_CNN = {"input_length": 40, "channels": 6, "first_filters": 8, "core_channels": [8, 4]}


def _pair(filters, kernel_size, groups, in_channels, seed, **options):
    """A Keras Conv1D and a GroupedConv1D with the same random weights."""
    return same_weights(keras.layers.Conv1D(filters, kernel_size, groups=groups, **options),
                        GroupedConv1D(filters, kernel_size, groups=groups, **options), in_channels, seed)


@pytest.mark.parametrize("per_group_in,per_group_out,groups,kernel_size,options", [
    (2, 2, 6, 7, {"padding": "same"}),  # DREAM-CNN's case
    (2, 2, 4, 7, {"padding": "valid", "use_bias": True, "activation": "silu"}),
    (3, 3, 2, 5, {"padding": "same", "dilation_rate": 2}),
    (2, 2, 3, 3, {"padding": "valid", "strides": 2}),
    (1, 3, 4, 3, {"padding": "same"}),  # in != out: the channel-multiplier form
    (2, 1, 3, 4, {"padding": "same", "use_bias": True}),
])
def test_grouped_conv1d_equals_keras_conv1d_forward_and_gradients(per_group_in, per_group_out, groups, kernel_size,
                                                                   options):
    in_channels, filters = groups * per_group_in, groups * per_group_out
    reference, fast = _pair(filters, kernel_size, groups, in_channels, seed=groups, **options)
    assert fast._uses_depthwise()
    x = np.random.default_rng(0).normal(size=(3, 23, in_channels)).astype("float32")
    assert_same_function(reference, fast, x, use_bias=options.get("use_bias", True), output_atol=1e-5)


def test_grouped_conv1d_keeps_conv1d_config_and_falls_back_where_depthwise_does_not_apply():
    fast = GroupedConv1D(8, 3, groups=1)
    assert not fast._uses_depthwise()
    causal = GroupedConv1D(8, 3, groups=4, padding="causal")
    assert not causal._uses_depthwise()
    reference, fast = _pair(8, 3, 4, 8, seed=0, padding="causal")
    x = np.random.default_rng(2).normal(size=(2, 9, 8)).astype("float32")
    np.testing.assert_allclose(fast(x), reference(x), atol=1e-6)
    assert fast.get_config() == {**reference.get_config(), "name": fast.name}


def test_dream_cnn_uses_grouped_conv1d_with_the_published_parameter_count():
    model = build_model("dream_cnn", "soft_bins")
    grouped = [layer for layer in model._flatten_layers() if "grouped_conv" in layer.name]
    assert grouped and all(type(layer) is GroupedConv1D and layer.groups == layer.filters // 2 for layer in grouped)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (trainable, model.count_params() - trainable) == (1_933_970, 10_752)


def test_keras_file_saved_with_conv1d_groups_loads_with_the_same_predictions():
    stored = np.load(OLD_PREDICTIONS)
    model = load_model(OLD_FILE)
    assert any(type(layer) is GroupedConv1D for layer in model._flatten_layers())
    predictions = model.predict_on_batch(stored["x"])
    for key, value in predictions.items():
        np.testing.assert_allclose(value, stored[f"y_{key}"], atol=1e-5, rtol=1e-5, err_msg=key)
    # and the weights alone load into a model built afresh
    fresh = build_model("dream_cnn", "soft_bins", **TINY_DREAM_CNN)
    fresh.load_weights(OLD_FILE)
    np.testing.assert_allclose(fresh.predict_on_batch(stored["x"])["bins"], stored["y_bins"], atol=1e-5, rtol=1e-5)


def test_model_with_grouped_conv1d_saves_and_loads(tmp_path):
    model = build_model("dream_cnn", "soft_bins", **TINY_DREAM_CNN)
    check_model(model, np.random.default_rng(4).random((2, 40, 6)).astype("float32"), folder=tmp_path)
    loaded = load_model(tmp_path / f"{model.name}.keras")
    assert sum(type(layer) is GroupedConv1D for layer in loaded._flatten_layers()) == 2
    # a bare GroupedConv1D round-trips through Keras's serialisation by its registered name
    layer = GroupedConv1D(4, 3, groups=2)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is GroupedConv1D and restored.groups == 2
