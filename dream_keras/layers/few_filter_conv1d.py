"""A ``Conv1D`` with few output channels and a long kernel, computed as one matrix product.

ChromBPNet's profile head is ``Conv1D(1, 75)`` over the tower's 128 or 512 channels. Convolution
kernels are built for many output channels: with one, TensorFlow's CPU kernel multiplies a matrix
by a vector at every position, and on a 2-core CPU that one layer took 48 ms of a 180 ms prediction
batch of the bias model (BPNet 128/4, batch 16). The same sums, reordered:

    y[t, f] = sum over k, c of  x[t + d k, c] kernel[k, c, f]
            = sum over k of  z[t + d k, k, f],   where  z[s, k, f] = sum over c of  x[s, c] kernel[k, c, f]

``z`` is one matrix product, ``(positions, channels) x (channels, kernel_size * filters)``, which
runs at the machine's matrix-multiply rate, and the sum over ``k`` reads ``z`` back with each tap's
rows shifted (a reshape of the flat array, see :func:`few_filter_conv1d`). Same multiply-adds,
nothing wider than ``kernel_size * filters`` per position, and a handful of operations whatever the
kernel size.

:class:`FewFilterConv1D` is ``keras.layers.Conv1D`` with the same configuration and variables
(names, shapes, layout), so official ``.h5`` weights and ``.keras`` files saved before it existed
load into it, and back; only the computation differs (equal to float32 rounding).
"""

from __future__ import annotations

import keras
from keras import ops


def few_filter_conv1d(x, kernel, dilation_rate: int = 1, padding: str = "valid"):
    """``keras.ops.conv(x, kernel)`` (stride 1, channels last) as one matrix product and a shifted sum.

    Args:
        x: ``(batch, length, channels)``.
        kernel: ``(kernel_size, channels, filters)``.
        dilation_rate: spacing of the kernel's taps.
        padding: ``"valid"`` or ``"same"`` (zeros split as Keras splits them: the extra one after).

    Returns:
        ``(batch, length', filters)``; ``length' = length - dilation_rate * (kernel_size - 1)`` for
        ``"valid"``, ``length`` for ``"same"``.
    """
    kernel_size, channels, filters = kernel.shape
    span = dilation_rate * (kernel_size - 1)
    if padding == "same":
        x = ops.pad(x, ((0, 0), (span // 2, span - span // 2), (0, 0)))
    length = ops.shape(x)[1]
    out_length = length - span
    # z[s, k, f] = sum_c x[s, c] kernel[k, c, f]: one (batch * length, channels) x (channels, k * f) product
    weights = ops.reshape(ops.transpose(kernel, (1, 0, 2)), (channels, kernel_size * filters))
    z = ops.matmul(ops.reshape(x, (-1, channels)), weights)
    z = ops.transpose(ops.reshape(z, (-1, length, kernel_size, filters)), (0, 3, 2, 1))  # (batch, f, k, s)
    # The sum over k of z[t + d k, k]: laid out flat, row k of z is shifted left by d k when read back
    # in rows of length + d (d k zeros per row appended at the end). A constant number of operations
    # whatever the kernel size, forward and backward (one shifted slice per tap would be as many).
    z = ops.pad(ops.reshape(z, (-1, filters, kernel_size * length)), ((0, 0), (0, 0), (0, kernel_size * dilation_rate)))
    z = ops.reshape(z, (-1, filters, kernel_size, length + dilation_rate))
    return ops.transpose(ops.sum(z[..., :out_length], axis=2), (0, 2, 1))


@keras.saving.register_keras_serializable(package="dream_keras", name="FewFilterConv1D")
class FewFilterConv1D(keras.layers.Conv1D):
    """``keras.layers.Conv1D`` computed by :func:`few_filter_conv1d` (a matrix product and a shifted sum).

    Same arguments, configuration and variables as ``Conv1D``. Input ``(batch, length, channels)``,
    output ``(batch, length', filters)``. Cases it does not cover (strides, groups, channels first,
    causal padding) use ``Conv1D`` itself.
    """

    def _uses_matmul(self) -> bool:
        return (self.strides[0] == 1 and self.groups == 1 and self.data_format == "channels_last"
                and self.padding in ("valid", "same"))

    def call(self, inputs):
        """The convolution of ``inputs``, as one matrix product where that applies."""
        if not self._uses_matmul():
            return super().call(inputs)
        outputs = few_filter_conv1d(inputs, self.kernel, self.dilation_rate[0], self.padding)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs


# As for GroupedConv1D: under the class name "Conv1D" the variable paths of a .keras file stay those
# of a model built with keras.layers.Conv1D, so files saved before this class existed load into models
# built with it, and back. Loading finds the class by its registered name, "dream_keras>FewFilterConv1D".
FewFilterConv1D.__name__ = FewFilterConv1D.__qualname__ = "Conv1D"
