"""A grouped ``Conv1D`` computed from depthwise convolutions, which every backend runs fast on CPU.

Keras's TensorFlow backend has no CPU kernel for a grouped convolution (``Conv1D(groups > 1)``):
it falls back to XLA, and without XLA one training step of DREAM-CNN (2 channels per group) does
not finish in minutes. :class:`GroupedConv1D` is ``keras.layers.Conv1D`` with the same
configuration and the same ``kernel`` / ``bias`` variables (names, shapes, layout), so a model
built with it holds the same parameters and loads the weights of one built with ``Conv1D``; only
the computation differs.

With ``n`` input and ``n`` output channels per group, output channel ``g * n + m`` is

    sum over i of  conv(x[..., g * n + i], kernel[:, i, g * n + m])

Writing ``i = (m + r) mod n`` turns the sum over ``i`` into a sum over ``n`` *rotations* ``r``:
rotation ``r`` pairs every output channel with one input channel (the input's channels rotated by
``r`` within each group), which is one depthwise convolution (channel multiplier 1). So the grouped
convolution is ``n`` depthwise convolutions of the whole tensor and ``n - 1`` additions: the same
multiply-adds, no wasted zeros and no intermediate ``n`` times wider. Groups with a different
number of input and output channels use one depthwise convolution with a channel multiplier of
``n_out`` and a sum over each group's inputs instead.
"""

from __future__ import annotations

import keras
from keras import ops


def _rotated_within_groups(x, groups: int, per_group: int, rotation: int):
    """``x`` with its channels rotated within each group.

    ``x`` ``(batch, length, groups * per_group)`` with channel ``g * n + m`` taken from ``g * n + (m + rotation) mod
    n``.
    """
    if rotation == 0:
        return x
    grouped = ops.reshape(x, (-1, ops.shape(x)[1], groups, per_group))
    rotated = ops.concatenate([grouped[..., rotation:], grouped[..., :rotation]], axis=-1)
    return ops.reshape(rotated, ops.shape(x))


def _rotation_kernel(kernel, groups: int, per_group: int, rotation: int):
    """Depthwise kernel ``(kernel_size, groups * n, 1)`` of rotation ``rotation``.

    Entry ``[k, g * n + m]`` is ``kernel[k, (m + rotation) mod n, g * n + m]``.
    """
    kernel_size = kernel.shape[0]
    blocks = ops.reshape(kernel, (kernel_size, per_group, groups, per_group))  # [k, i, g, m]
    columns = [blocks[:, (m + rotation) % per_group, :, m] for m in range(per_group)]  # each (k, g)
    return ops.reshape(ops.stack(columns, axis=-1), (kernel_size, groups * per_group, 1))


def grouped_conv1d(x, kernel, groups: int, strides: int = 1, padding: str = "valid", dilation_rate: int = 1):
    """A grouped 1-D convolution from depthwise convolutions (``keras.ops`` only).

    Args:
        x: ``(batch, length, groups * per_group_in)``, channels last.
        kernel: ``(kernel_size, per_group_in, groups * per_group_out)``, Keras's grouped layout: group
            ``g`` maps input channels ``[g * in, (g + 1) * in)`` to output channels ``[g * out, (g + 1) * out)``.
        groups: number of groups.
        strides: as ``keras.ops.conv``.
        padding: ``"valid"`` or ``"same"``, as ``keras.ops.conv``.
        dilation_rate: as ``keras.ops.conv``.

    Returns:
        ``(batch, length', groups * per_group_out)``, equal to ``keras.ops.conv(x, kernel, ...)``.
    """
    kernel_size, per_group_in, filters = kernel.shape
    per_group_out = filters // groups
    if per_group_in == per_group_out:
        outputs = None
        for rotation in range(per_group_in):
            term = ops.depthwise_conv(_rotated_within_groups(x, groups, per_group_in, rotation),
                                      _rotation_kernel(kernel, groups, per_group_in, rotation),
                                      strides=strides, padding=padding, dilation_rate=dilation_rate)
            outputs = term if outputs is None else outputs + term
        return outputs
    # Input channel g * in + i, multiplier m, holds kernel[:, i, g * out + m]; then sum over i.
    depthwise = ops.reshape(kernel, (kernel_size, per_group_in, groups, per_group_out))
    depthwise = ops.reshape(ops.transpose(depthwise, (0, 2, 1, 3)),
                            (kernel_size, groups * per_group_in, per_group_out))
    outputs = ops.depthwise_conv(x, depthwise, strides=strides, padding=padding, dilation_rate=dilation_rate)
    length = ops.shape(outputs)[1]
    outputs = ops.reshape(outputs, (-1, length, groups, per_group_in, per_group_out))
    return ops.reshape(ops.sum(outputs, axis=3), (-1, length, filters))


@keras.saving.register_keras_serializable(package="dream_keras", name="GroupedConv1D")
class GroupedConv1D(keras.layers.Conv1D):
    """``keras.layers.Conv1D`` whose grouped case (``groups > 1``) runs as depthwise convolutions.

    Same arguments, configuration and variables as ``Conv1D``. Input ``(batch, length, channels)``,
    output ``(batch, length', filters)``. Cases the depthwise form does not cover (``groups == 1``,
    channels first, causal padding, stride and dilation both above 1) use ``Conv1D`` itself.
    """

    def _uses_depthwise(self) -> bool:
        stride, dilation = self.strides[0], self.dilation_rate[0]
        return (self.groups > 1 and self.data_format == "channels_last" and self.padding != "causal"
                and not (stride > 1 and dilation > 1))

    def call(self, inputs):
        """The grouped convolution of ``inputs``, through depthwise convolutions where that applies."""
        if not self._uses_depthwise():
            return super().call(inputs)
        outputs = grouped_conv1d(inputs, self.kernel, self.groups, self.strides[0], self.padding,
                                 self.dilation_rate[0])
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs


# A .keras file stores each layer's variables under a path made from its class's __name__
# ("conv1d", "conv1d_1", ...), counted across all the model's layers; under the name "Conv1D" the
# paths stay those of a model built with keras.layers.Conv1D, so files saved before this class
# existed load into models built with it, and back. Loading finds the class by its registered
# name, "dream_keras>GroupedConv1D".
GroupedConv1D.__name__ = GroupedConv1D.__qualname__ = "Conv1D"
