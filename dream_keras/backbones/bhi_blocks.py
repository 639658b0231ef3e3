"""The BHI team's convolution blocks (Prix Fixe): the first block of DREAM-CNN and DREAM-RNN.

PyTorch's ``ConvBlock`` is Conv1d (``same``, bias) -> ReLU -> MaxPool(1) -> Dropout. Its pool of
size 1 is the identity and is left out. The BHI blocks keep PyTorch's default initialisation
(see :mod:`dream_keras.layers.torch_init`).
"""

from __future__ import annotations

from typing import Sequence

import keras

from dream_keras.layers import torch_default_bias, torch_default_kernel

# The published kernel sizes of the parallel convolutions (both blocks that use them).
BHI_KERNEL_SIZES = (9, 15)


def parallel_conv_block(x, filters: int, kernel_sizes: Sequence[int], dropout: float, name: str):
    """Parallel Conv1D (``same``, ReLU, dropout) branches concatenated on channels.

    Args:
        x: ``(batch, length, in_channels)``.
        filters: total output channels, split evenly over the branches.
        kernel_sizes: one branch per kernel size.
        dropout: dropout rate after each branch.
        name: prefix of the layer names.

    Returns:
        ``(batch, length, filters)``.
    """
    if filters % len(kernel_sizes):
        raise ValueError(f"{name}: filters={filters} must be divisible by the number of kernel sizes "
                         f"{len(kernel_sizes)} (one equal share per branch); pass a multiple of "
                         f"{len(kernel_sizes)}")
    in_channels = x.shape[-1]
    branches = []
    for kernel_size in kernel_sizes:
        branch = keras.layers.Conv1D(
            filters // len(kernel_sizes), kernel_size, padding="same", activation="relu",
            kernel_initializer=torch_default_kernel(),
            bias_initializer=torch_default_bias(in_channels * kernel_size),
            name=f"{name}_conv_k{kernel_size}")(x)
        branches.append(keras.layers.Dropout(dropout, name=f"{name}_dropout_k{kernel_size}")(branch))
    return keras.layers.Concatenate(axis=-1, name=f"{name}_concat")(branches)


def bhi_first_block(x, filters: int):
    """The BHI first layers block: kernels 9 and 15, ``filters // 2`` each, dropout 0.2.

    Inputs: ``(batch, length, channels)``. Outputs: ``(batch, length, filters)``.
    """
    return parallel_conv_block(x, filters, BHI_KERNEL_SIZES, dropout=0.2, name="first")
