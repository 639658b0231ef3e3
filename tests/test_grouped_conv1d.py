"""GroupedConv1D computes keras.layers.Conv1D(groups=...)'s function with the same variables."""

from __future__ import annotations

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_pairs import outputs_and_gradients, same_weights

from dream_keras import build_model
from dream_keras.layers import GroupedConv1D
from dream_keras.saving import load_model

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
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 23, in_channels)).astype("float32")
    y_ref = reference(x)
    upstream = tf.constant(rng.normal(size=y_ref.shape).astype("float32"))
    expected, expected_grads = outputs_and_gradients(reference, x, upstream)
    actual, actual_grads = outputs_and_gradients(fast, x, upstream)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=1e-5)
    assert len(actual_grads) == len(expected_grads) == 2 + options.get("use_bias", True)
    for name, got, want in zip(["input", "kernel", "bias"], actual_grads, expected_grads):
        np.testing.assert_allclose(got, want, atol=1e-5 * max(1.0, np.abs(want).max()), rtol=1e-5, err_msg=name)


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
    x = np.random.default_rng(4).random((2, 40, 6)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = load_model(path)
    assert sum(type(layer) is GroupedConv1D for layer in loaded._flatten_layers()) == 2
    np.testing.assert_allclose(loaded.predict_on_batch(x)["bins"], model.predict_on_batch(x)["bins"], atol=1e-6)
    # a bare GroupedConv1D round-trips through Keras's serialisation by its registered name
    layer = GroupedConv1D(4, 3, groups=2)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is GroupedConv1D and restored.groups == 2
