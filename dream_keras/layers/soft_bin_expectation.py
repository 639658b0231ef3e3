"""The expected bin index under a soft-bin distribution (the DREAM-CNN expression estimate)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dream_keras")
class SoftBinExpectation(keras.layers.Layer):
    """Expectation of the bin index under per-example bin probabilities.

    The DREAM Challenge measured expression as one of 18 sorting bins; the Prix Fixe final block
    predicts a probability per bin and reports ``sum_i p_i * i`` as the expression estimate.

    Inputs: ``(batch, num_bins)`` probabilities (rows sum to 1).
    Outputs: ``(batch, 1)`` expected bin index, in ``[0, num_bins - 1]``.
    """

    def call(self, probabilities):
        """The expected bin index ``(batch, 1)`` of bin probabilities ``(batch, bins)``."""
        num_bins = probabilities.shape[-1]
        bin_index = ops.cast(ops.arange(num_bins), probabilities.dtype)
        return ops.sum(probabilities * bin_index, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        """The input shape with a last dimension of 1."""
        return (*input_shape[:-1], 1)

    def get_config(self):
        """The layer's config (it has no arguments of its own)."""
        # No arguments of its own: the number of bins comes from the input.
        return super().get_config()
