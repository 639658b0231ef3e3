"""Shared by the tests of layers that compute a Keras layer's function another way (same variables)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def same_weights(reference, fast, in_channels: int, seed: int):
    """Build ``reference`` and ``fast`` with the same random weights.

    Build ``reference`` and ``fast`` for ``in_channels`` inputs and give both the same random weights (their variables
    must match by name and shape). Returns ``(reference, fast)``.
    """
    rng = np.random.default_rng(seed)
    for layer in (reference, fast):
        layer.build((None, None, in_channels))
    for ref_var, fast_var in zip(reference.weights, fast.weights):
        assert ref_var.path.split("/")[-1] == fast_var.path.split("/")[-1] and ref_var.shape == fast_var.shape
        value = rng.normal(size=ref_var.shape).astype("float32")
        ref_var.assign(value)
        fast_var.assign(value)
    return reference, fast


def outputs_and_gradients(layer, x, upstream):
    """``layer(x)`` and the gradients of a random linear function of its output.

    ``layer(x)`` and the gradients of ``sum(layer(x) * upstream)`` (a random linear function of every output) with
    respect to ``x`` and each trainable weight.
    """
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * upstream)
    grads = tape.gradient(loss, [x, *layer.trainable_weights])
    return y.numpy(), [g.numpy() for g in grads]


def assert_same_function(reference, fast, x, *, use_bias: bool, output_atol: float | None = None) -> None:
    """Assert that ``fast`` computes ``reference``'s outputs and gradients on ``x``.

    The gradients of the input, kernel and, with ``use_bias``, bias; within 1e-5 (scaled by the largest value;
    ``output_atol`` overrides the outputs').
    """
    rng = np.random.default_rng(1)
    upstream = tf.constant(rng.normal(size=reference(x).shape).astype("float32"))
    expected, expected_grads = outputs_and_gradients(reference, x, upstream)
    actual, actual_grads = outputs_and_gradients(fast, x, upstream)
    assert actual.shape == expected.shape
    atol = output_atol if output_atol is not None else 1e-5 * max(1.0, np.abs(expected).max())
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=1e-5)
    assert len(actual_grads) == len(expected_grads) == 2 + use_bias
    for name, got, want in zip(["input", "kernel", "bias"], actual_grads, expected_grads):
        np.testing.assert_allclose(got, want, atol=1e-5 * max(1.0, np.abs(want).max()), rtol=1e-5, err_msg=name)
