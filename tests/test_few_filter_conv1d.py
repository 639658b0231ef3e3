"""FewFilterConv1D computes keras.layers.Conv1D's function, as a matrix product, with the same variables."""

from __future__ import annotations

import pathlib

import keras
import numpy as np
import pytest
from layer_pairs import assert_same_function, same_weights

from dream_keras import build_model
from dream_keras.layers import FewFilterConv1D
from dream_keras.saving import load_model
from dream_keras.testing import check_model

DATA = pathlib.Path(__file__).parent / "data"
#: Saved by the code before FewFilterConv1D existed (commit 02f8298: keras.layers.Conv1D as the profile convolution),
#: tiny BPNet (8 filters, 2 dilated layers, 200 -> 60 bp), with that code's predictions on a fixed input.
OLD_FILE = DATA / "bpnet_profile_conv1d.keras"
OLD_PREDICTIONS = DATA / "bpnet_profile_conv1d_predictions.npz"


def _pair(filters, kernel_size, in_channels, seed, **options):
    """A Keras Conv1D and a FewFilterConv1D with the same random weights."""
    return same_weights(keras.layers.Conv1D(filters, kernel_size, **options),
                        FewFilterConv1D(filters, kernel_size, **options), in_channels, seed)


@pytest.mark.parametrize("filters,kernel_size,in_channels,options", [
    (1, 75, 16, {"padding": "valid"}),  # the profile head's case
    (2, 9, 5, {"padding": "valid", "activation": "relu"}),
    (3, 4, 6, {"padding": "same", "use_bias": False}),  # an even kernel: the extra zero goes after
    (1, 3, 4, {"padding": "same", "dilation_rate": 3}),
    (2, 5, 3, {"padding": "valid", "dilation_rate": 2}),
])
def test_few_filter_conv1d_equals_keras_conv1d_forward_and_gradients(filters, kernel_size, in_channels, options):
    reference, fast = _pair(filters, kernel_size, in_channels, seed=kernel_size, **options)
    assert fast._uses_matmul()
    x = np.random.default_rng(0).normal(size=(3, 90, in_channels)).astype("float32")
    assert_same_function(reference, fast, x, use_bias=options.get("use_bias", True))


def test_few_filter_conv1d_keeps_conv1d_config_and_falls_back_where_the_product_does_not_apply():
    for options in ({"strides": 2}, {"padding": "causal"}, {"groups": 2}):
        reference, fast = _pair(2, 3, 4, seed=0, **options)
        assert not fast._uses_matmul()
        x = np.random.default_rng(2).normal(size=(2, 11, 4)).astype("float32")
        np.testing.assert_allclose(fast(x), reference(x), atol=1e-6)
        assert fast.get_config() == {**reference.get_config(), "name": fast.name}


def test_profile_head_uses_it_and_the_official_parameter_count_holds():
    model = build_model("bpnet", "profile_count")
    (profile_conv,) = [layer for layer in model.layers if layer.name == "wo_bias_bpnet_prof_out_precrop"]
    assert type(profile_conv) is FewFilterConv1D and profile_conv.kernel.shape == (75, 512, 1)
    assert model.count_params() == 6_377_986


def test_keras_file_saved_with_conv1d_loads_with_the_same_predictions(tmp_path):
    stored = np.load(OLD_PREDICTIONS)
    model = load_model(OLD_FILE)
    assert sum(type(layer) is FewFilterConv1D for layer in model.layers) == 1
    predictions = model.predict_on_batch(stored["x"])
    for key in ("profile", "logcounts"):
        np.testing.assert_allclose(predictions[key], stored[f"y_{key}"], atol=1e-5, rtol=1e-5, err_msg=key)
    # saved again with the new class, it passes the model checks and loads as itself
    check_model(model, stored["x"], folder=tmp_path)
    assert sum(type(layer) is FewFilterConv1D for layer in load_model(tmp_path / f"{model.name}.keras").layers) == 1
    layer = FewFilterConv1D(1, 75)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is FewFilterConv1D and restored.kernel_size == (75,)
