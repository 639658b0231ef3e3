"""Tracing the export so that any TF Serving build, CPU or GPU, runs the graph.

Two Keras implementation choices would tie a SavedModel to one kind of server:

- **XLA.** Keras's TensorFlow backend runs a grouped convolution (``Conv1D(groups > 1)``, the
  DREAM-CNN core) inside a ``tf.function(jit_compile=True)``, because TensorFlow's CPU ``Conv2D``
  kernel has no grouped mode. A SavedModel holding such a function needs XLA at serving time, which
  TF Serving does not compile by default (``--xla_cpu_compilation_enabled`` is experimental; GPU
  builds report "Could not find compiler for platform CUDA"). While :func:`portable_tracing` is
  active, grouped ``Conv1D`` layers compute the same convolution as a depthwise convolution followed
  by a sum within each group, which every TensorFlow build runs on CPU and GPU.
- **cuDNN.** ``LSTM`` and ``GRU`` layers traced where a GPU is visible use the ``CudnnRNNV3`` op,
  which has no CPU kernel; :func:`portable_tracing` sets their ``use_cudnn`` to False meanwhile, so
  an export made on a GPU machine also serves on CPU.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import keras
import tensorflow as tf


def grouped_conv1d(inputs: tf.Tensor, kernel: tf.Tensor, groups: int, stride: int = 1, padding: str = "valid",
                   dilation: int = 1) -> tf.Tensor:
    """A grouped 1-D convolution from ``tf.nn.depthwise_conv2d`` (no XLA).

    Args:
        inputs: ``(batch, length, groups * per_group_in)``.
        kernel: ``(kernel_size, per_group_in, groups * per_group_out)``, Keras's grouped layout: group
            ``g`` maps input channels ``[g * in, (g + 1) * in)`` to output channels ``[g * out, (g + 1) * out)``.
        groups: number of groups.
        stride: the convolution's stride.
        padding: ``"valid"`` or ``"same"``.
        dilation: the convolution's dilation rate.

    Returns:
        ``(batch, length', groups * per_group_out)``, equal to ``keras.ops.conv`` on the same arguments.
    """
    kernel_size, per_group_in, filters = kernel.shape
    per_group_out = filters // groups
    # Depthwise filter: input channel g*in + i, multiplier m holds kernel[:, i, g*out + m].
    depthwise = tf.reshape(kernel, (kernel_size, per_group_in, groups, per_group_out))
    depthwise = tf.reshape(tf.transpose(depthwise, (0, 2, 1, 3)), (1, kernel_size, groups * per_group_in,
                                                                  per_group_out))
    outputs = tf.nn.depthwise_conv2d(tf.expand_dims(inputs, 1), depthwise, strides=[1, 1, stride, 1],
                                     padding=padding.upper(), dilations=[1, dilation])
    # Channel (g*in + i)*out + m holds input channel i's part of output g*out + m: sum over i.
    outputs = tf.reshape(outputs[:, 0], (-1, tf.shape(outputs)[2], groups, per_group_in, per_group_out))
    return tf.reshape(tf.reduce_sum(outputs, axis=3), (-1, tf.shape(outputs)[1], filters))


def _call_without_xla(original):
    def call(self, inputs):
        stride, dilation = self.strides[0], self.dilation_rate[0]
        if (self.groups == 1 or self.data_format != "channels_last" or self.padding == "causal"
                or (stride > 1 and dilation > 1)):
            return original(self, inputs)
        outputs = grouped_conv1d(inputs, tf.convert_to_tensor(self.kernel), self.groups, stride, self.padding,
                                 dilation)
        if self.use_bias:
            outputs = outputs + tf.convert_to_tensor(self.bias)
        return self.activation(outputs) if self.activation is not None else outputs

    return call


def _recurrent_layers(models) -> list:
    """Every LSTM/GRU layer inside ``models``, nested models and Bidirectional wrappers included."""
    found = []
    for model in models:
        # _flatten_layers walks every tracked sub-layer (Keras 3.15 has no public recursive walk;
        # tests/test_keras_internals.py checks that it still does).
        for layer in model._flatten_layers(include_self=True, recursive=True):
            if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
                found.append(layer)
    return found


@contextlib.contextmanager
def portable_tracing(models) -> Iterator[None]:
    """Trace portable graphs: grouped convolutions without XLA, recurrent layers without cuDNN.

    Within the block, grouped ``Conv1D`` layers (all, process-wide) compute without XLA and the recurrent layers of
    ``models`` without cuDNN. Trace the export's functions inside it; on leaving, Keras's own implementations and the
    layers' settings are restored.
    """
    # Process-wide swap of Keras's Conv1D.call (Keras 3.15): the grouped path calls XLA-only ops and
    # Keras has no public switch for it; restored on leaving (tests/test_export.py checks both).
    conv1d = keras.layers.Conv1D
    had_own_call = "call" in conv1d.__dict__
    original_call = conv1d.call
    recurrent = _recurrent_layers(models)
    original_cudnn = [layer.use_cudnn for layer in recurrent]
    conv1d.call = _call_without_xla(original_call)
    for layer in recurrent:
        layer.use_cudnn = False
    try:
        yield
    finally:
        if had_own_call:
            conv1d.call = original_call
        else:
            del conv1d.call
        for layer, setting in zip(recurrent, original_cudnn):
            layer.use_cudnn = setting
