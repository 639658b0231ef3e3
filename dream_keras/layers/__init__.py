"""Layers and initialisers shared by the backbones and heads.

Everything here is written with ``keras.ops`` only and registered serializable under the package
``dream_keras``, so models that use it save to ``.keras`` files and run on any Keras backend.
"""

from dream_keras.layers.few_filter_conv1d import FewFilterConv1D
from dream_keras.layers.grouped_conv1d import GroupedConv1D
from dream_keras.layers.soft_bin_expectation import SoftBinExpectation
from dream_keras.layers.torch_init import (
    autosome_conv_kernel,
    autosome_dense_kernel,
    torch_default_bias,
    torch_default_kernel,
    torch_lstm_uniform,
)

__all__ = [
    "FewFilterConv1D",
    "GroupedConv1D",
    "SoftBinExpectation",
    "autosome_conv_kernel",
    "autosome_dense_kernel",
    "torch_default_bias",
    "torch_default_kernel",
    "torch_lstm_uniform",
]
