"""The BPNet dilated residual tower of ChromBPNet (and of its bias model).

Conv1D(filters, 21, valid, ReLU), then for ``i = 1..n_dil_layers`` a Conv1D(filters, 3, valid,
ReLU, dilation ``2**i``) added to its input cropped symmetrically to the same length. Layer names
are the official ones (``bpnet_1st_conv``, ``bpnet_{i}conv``, ``bpnet_{i}crop``) behind
``layer_prefix`` (``"wo_bias_"`` for ChromBPNet's main model, ``""`` for the bias model), so
official HDF5 weights load by name. Published sizes: 512 filters / 8 layers (main model), 128 / 4
(bias model). Its original head is ``profile_count``.
"""

from __future__ import annotations

import keras

from dream_keras.heads.profile_count import PROFILE_COUNT_INPUT_LENGTH
from dream_keras.registry import register_backbone

FIRST_KERNEL_SIZE = 21
DILATED_KERNEL_SIZE = 3


def bpnet_length_loss(n_dil_layers: int) -> int:
    """Positions lost by the tower: ``20`` for the first conv, ``2 * 2**i`` for dilated layer ``i``."""
    return FIRST_KERNEL_SIZE - 1 + sum(2 * 2 ** i for i in range(1, n_dil_layers + 1))


#: The official main model's tower: 512 filters, 8 dilated layers, names with the ``wo_bias_`` prefix
#: (``chrombpnet_nobias.h5``).
MAIN_MODEL_OPTIONS = {"filters": 512, "n_dil_layers": 8, "layer_prefix": "wo_bias_"}
#: The official bias model: BPNet, 128 filters, 4 dilated layers, names without prefix (``bias.h5``).
BIAS_MODEL_OPTIONS = {"filters": 128, "n_dil_layers": 4, "layer_prefix": ""}


@register_backbone(
    "bpnet", default_head="profile_count", alphabet="ACGT",
    defaults={"input_length": PROFILE_COUNT_INPUT_LENGTH, "channels": 4, **MAIN_MODEL_OPTIONS},
    bias_defaults=BIAS_MODEL_OPTIONS)
def bpnet(x, filters: int = MAIN_MODEL_OPTIONS["filters"], n_dil_layers: int = MAIN_MODEL_OPTIONS["n_dil_layers"],
          layer_prefix: str = MAIN_MODEL_OPTIONS["layer_prefix"]):
    """BPNet backbone.

    Args:
        x: one-hot sequence ``(batch, length, 4)`` with ``length > bpnet_length_loss(n_dil_layers)``.
        filters: channels of every convolution.
        n_dil_layers: dilated residual layers (dilations 2, 4, ..., ``2**n_dil_layers``).
        layer_prefix: prepended to every layer name.

    Returns:
        features ``(batch, length - bpnet_length_loss(n_dil_layers), filters)``.
    """
    filters, n_dil_layers = int(filters), int(n_dil_layers)
    length = x.shape[1]
    lost = bpnet_length_loss(n_dil_layers)
    if length is not None and length <= lost:
        raise ValueError(f"bpnet with n_dil_layers={n_dil_layers} shortens its input by {lost} positions, so it "
                         f"needs input_length > {lost}; got {length}. Pass input_length={lost + 1} or more, or "
                         f"fewer n_dil_layers")
    x = keras.layers.Conv1D(filters, FIRST_KERNEL_SIZE, padding="valid", activation="relu",
                            name=f"{layer_prefix}bpnet_1st_conv")(x)
    for i in range(1, n_dil_layers + 1):
        conv = keras.layers.Conv1D(filters, DILATED_KERNEL_SIZE, padding="valid", activation="relu",
                                   dilation_rate=2 ** i, name=f"{layer_prefix}bpnet_{i}conv")(x)
        # A valid dilated conv shortens by 2 * 2**i, an even number, so the crop is symmetric.
        crop = (x.shape[1] - conv.shape[1]) // 2
        x = keras.layers.Cropping1D(crop, name=f"{layer_prefix}bpnet_{i}crop")(x)
        x = keras.layers.Add(name=f"{layer_prefix}bpnet_{i}add")([conv, x])
    return x
