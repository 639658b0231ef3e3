"""DREAM-CNN (Prix Fixe): the BHI first block followed by the Autosome (LegNet-style) core.

Core stage ``(prev, size)``, for consecutive entries of ``[first_filters, *core_channels]``:

1. inverted residual block on the stage input ``x`` (``prev`` channels): 1x1 conv to ``4 * size``
   (no bias), BN, SiLU; grouped conv kernel 7 with 2 channels per group (no bias; computed as
   depthwise convolutions, :class:`dream_keras.layers.GroupedConv1D`), BN, SiLU;
   squeeze-excitation (mean over length, Dense ``prev // 4`` SiLU, Dense ``4 * size`` sigmoid,
   rescale channels); 1x1 conv back to ``prev`` (no bias), BN, SiLU;
2. concatenate ``[x, block(x)]`` on channels (``2 * prev``);
3. resize conv kernel 7 to ``size`` (no bias), BN, SiLU.

Every convolution is ``same``-padded, so the length is kept. BatchNorm matches PyTorch's
(momentum 0.1 there is 0.9 here; epsilon 1e-5). The core is initialised as the Autosome code does
(:mod:`dream_keras.layers.torch_init`).
"""

from __future__ import annotations

from typing import Sequence

import keras

from dream_keras.backbones.bhi_blocks import bhi_first_block
from dream_keras.layers import GroupedConv1D, autosome_conv_kernel, autosome_dense_kernel
from dream_keras.registry import register_backbone

# Published widths: 320 channels out of the first block, then six core stages.
FIRST_FILTERS = 320
CORE_CHANNELS = (128, 128, 64, 64, 64, 64)

EXPANSION = 4  # inverted residual width = EXPANSION * size
SE_REDUCTION = 4  # squeeze width = prev // SE_REDUCTION
CHANNELS_PER_GROUP = 2
KERNEL_SIZE = 7
BN_MOMENTUM = 0.9  # PyTorch momentum 0.1
BN_EPSILON = 1e-5  # PyTorch default


def _conv_bn_silu(x, filters: int, kernel_size: int, name: str, groups: int = 1):
    # GroupedConv1D: Conv1D's variables and function, computed with kernels that are fast on CPU
    conv = GroupedConv1D if groups > 1 else keras.layers.Conv1D
    x = conv(filters, kernel_size, padding="same", groups=groups, use_bias=False,
             kernel_initializer=autosome_conv_kernel(), name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.Activation("silu", name=f"{name}_silu")(x)


def _squeeze_excitation(x, squeeze_units: int, name: str):
    """Rescale each channel of ``x`` ``(batch, length, c)`` by a gate computed from its mean."""
    channels = x.shape[-1]
    gate = keras.layers.GlobalAveragePooling1D(keepdims=True, name=f"{name}_mean")(x)
    gate = keras.layers.Dense(squeeze_units, activation="silu", kernel_initializer=autosome_dense_kernel(),
                              name=f"{name}_squeeze")(gate)
    gate = keras.layers.Dense(channels, activation="sigmoid", kernel_initializer=autosome_dense_kernel(),
                              name=f"{name}_excite")(gate)
    return keras.layers.Multiply(name=f"{name}_scale")([x, gate])


def autosome_stage(x, size: int, name: str):
    """One core stage: ``(batch, length, prev)`` -> ``(batch, length, size)``."""
    prev = x.shape[-1]
    if prev // SE_REDUCTION < 1:
        raise ValueError(f"dream_cnn: stage {name} gets {prev} channels; squeeze-excitation needs at least "
                         f"{SE_REDUCTION} (it squeezes to channels // {SE_REDUCTION}); use wider "
                         f"first_filters/core_channels")
    wide = EXPANSION * size
    block = _conv_bn_silu(x, wide, 1, name=f"{name}_expand")
    block = _conv_bn_silu(block, wide, KERNEL_SIZE, name=f"{name}_grouped",
                          groups=wide // CHANNELS_PER_GROUP)
    block = _squeeze_excitation(block, prev // SE_REDUCTION, name=f"{name}_se")
    block = _conv_bn_silu(block, prev, 1, name=f"{name}_project")
    x = keras.layers.Concatenate(axis=-1, name=f"{name}_concat")([x, block])
    return _conv_bn_silu(x, size, KERNEL_SIZE, name=f"{name}_resize")


@register_backbone(
    "dream_cnn", default_head="soft_bins", alphabet="AGCT", head_per_task=True,
    defaults={"input_length": 150, "channels": 6, "first_filters": FIRST_FILTERS,
              "core_channels": list(CORE_CHANNELS)})
def dream_cnn(x, first_filters: int = FIRST_FILTERS, core_channels: Sequence[int] = CORE_CHANNELS):
    """DREAM-CNN backbone.

    Args:
        x: one-hot sequence ``(batch, length, channels)``; DREAM yeast uses 150 x 6 (AGCT plus the
            reverse-complement and singleton flags).
        first_filters: channels out of the first block (two branches of ``first_filters // 2``).
        core_channels: output channels of the core stages, one stage each.

    Returns:
        features ``(batch, length, core_channels[-1])``.
    """
    if not core_channels:
        raise ValueError("dream_cnn: core_channels is empty; pass at least one stage width, e.g. [64]")
    x = bhi_first_block(x, int(first_filters))
    for index, size in enumerate(core_channels):
        x = autosome_stage(x, int(size), name=f"core{index}")
    return x
