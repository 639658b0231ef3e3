"""Keras initialisers that draw the same distributions as the PyTorch originals.

The DREAM models were trained in PyTorch. Two schemes occur in the Prix Fixe code:

* the Autosome blocks (DREAM-CNN core, soft-bin and regression heads) re-initialise every layer:
  conv kernels ``N(0, sqrt(2 / (kernel_size * out_channels)))`` (He normal over fan-out, not
  truncated), linear kernels ``N(0, 0.001)``, all biases 0, BatchNorm scale 1 and shift 0;
* the BHI blocks (first block of both DREAM models, the DREAM-RNN core) keep PyTorch's defaults:
  conv and linear kernels ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (Kaiming uniform with
  ``a = sqrt(5)``), biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and every LSTM weight and bias
  ``U(-1/sqrt(hidden), 1/sqrt(hidden))``.

Each function returns a built-in Keras initialiser, so configs stay plain data.
"""

from __future__ import annotations

import math

import keras


def autosome_conv_kernel() -> keras.initializers.Initializer:
    """``N(0, sqrt(2 / (kernel_size * out_channels)))``.

    Keras's fan-out of a Conv1D kernel ``(kernel_size, in_channels / groups, out_channels)`` is ``kernel_size *
    out_channels``.
    """
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="untruncated_normal")


def autosome_dense_kernel() -> keras.initializers.Initializer:
    """``N(0, 0.001)`` for linear (Dense) kernels."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.001)


def torch_default_kernel() -> keras.initializers.Initializer:
    """PyTorch's default conv/linear kernel: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    Keras's uniform variance scaling has limit ``sqrt(3 * scale / fan_in)``; scale 1/3 gives
    ``1/sqrt(fan_in)``.
    """
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def torch_default_bias(fan_in: int) -> keras.initializers.Initializer:
    """PyTorch's default conv/linear bias: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    fan_in: ``in_channels * kernel_size`` of the layer the bias belongs to.
    """
    limit = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(minval=-limit, maxval=limit)


def torch_lstm_uniform(units: int) -> keras.initializers.Initializer:
    """PyTorch's LSTM initialisation of every weight and bias: ``U(-1/sqrt(units), 1/sqrt(units))``."""
    limit = 1.0 / math.sqrt(units)
    return keras.initializers.RandomUniform(minval=-limit, maxval=limit)
