"""ChromBPNet's profile/count head, usable on any backbone whose features are long enough.

Profile branch: Conv1D(num_tasks, 75, valid) -> centre crop to ``output_length`` -> flatten, the
per-base profile logits. Count branch: GlobalAveragePooling1D -> Dense(num_tasks), the log total
counts. Layer names are those of the official ChromBPNet code (see :func:`profile_count_layer_names`),
so official HDF5 weights load by name whatever the backbone. A model with this head defaults to the
ATAC task's input (2,114 x 4, one-hot order ACGT), whatever the backbone's own defaults.
"""

from __future__ import annotations

import keras

from dream_keras.layers import FewFilterConv1D
from dream_keras.registry import IncompatibleHeadError, register_head

PROFILE_KERNEL_SIZE = 75
#: ChromBPNet's windows (bp): the input a model with this head reads unless told otherwise, and the
#: profile it predicts (the same numbers as ``data_prep.windows.CHROMBPNET_*``, which the data side reads).
PROFILE_COUNT_INPUT_LENGTH = 2114
PROFILE_COUNT_OUTPUT_LENGTH = 1000


def profile_count_layer_names(layer_prefix: str | None) -> dict[str, str]:
    """Names of the head's layers.

    ``None`` (any backbone but BPNet) gives plain names: ``profile_conv``, ``profile_crop``,
    ``profile_logits``, ``gap``, ``logcounts_dense``. A string gives the official ChromBPNet names,
    which the BPNet backbone routes here with its own ``layer_prefix`` so that official ``.h5``
    weights load by name: ``""`` the bias model's (``prof_out_precrop``,
    ``logits_profile_predictions_preflatten``, ``logits_profile_predictions``, ``gap``,
    ``logcount_predictions``); any other prefix the main model's pattern, e.g. ``"wo_bias_"``:
    ``wo_bias_bpnet_prof_out_precrop``, ``wo_bias_bpnet_logitt_before_flatten`` (sic),
    ``wo_bias_bpnet_logits_profile_predictions``, ``gap``, ``wo_bias_bpnet_logcount_predictions``.
    """
    if layer_prefix is None:
        return {"profile_conv": "profile_conv", "crop": "profile_crop", "profile": "profile_logits", "gap": "gap",
                "logcounts": "logcounts_dense"}
    if not layer_prefix:
        return {"profile_conv": "prof_out_precrop", "crop": "logits_profile_predictions_preflatten",
                "profile": "logits_profile_predictions", "gap": "gap", "logcounts": "logcount_predictions"}
    stem = f"{layer_prefix}bpnet_"
    return {"profile_conv": f"{stem}prof_out_precrop", "crop": f"{stem}logitt_before_flatten",
            "profile": f"{stem}logits_profile_predictions", "gap": "gap",
            "logcounts": f"{stem}logcount_predictions"}


def centre_crop_widths(length: int, output_length: int) -> tuple[int, int]:
    """(left, right) crop that keeps the centre ``output_length`` of ``length`` positions.

    When the excess is odd the extra position is cropped on the right (the official code asserts an
    even excess and then crops symmetrically, which this matches).
    """
    excess = length - output_length
    return excess // 2, excess - excess // 2


@register_head("profile_count", defaults={"output_length": PROFILE_COUNT_OUTPUT_LENGTH, "num_tasks": 1},
               input_defaults={"input_length": PROFILE_COUNT_INPUT_LENGTH, "channels": 4, "alphabet": "ACGT"})
def profile_count(features, output_length: int = PROFILE_COUNT_OUTPUT_LENGTH, num_tasks: int = 1,
                  layer_prefix: str | None = None):
    """Profile and count outputs.

    Args:
        features: ``(batch, length, width)`` with a known ``length >= output_length + 74``.
        output_length: profile length, centred on the input.
        num_tasks: profile tracks and count outputs (ChromBPNet uses 1).
        layer_prefix: ``None`` (plain layer names), or ChromBPNet's ``"wo_bias_"`` (main model) or
            ``""`` (bias model), which the BPNet backbone passes on (see :func:`profile_count_layer_names`).

    Returns:
        ``{"profile": (batch, output_length * num_tasks) logits (position-major, as Flatten
        gives), "logcounts": (batch, num_tasks)}``.

    Raises:
        IncompatibleHeadError: the features are shorter than ``output_length + 74`` or of unknown
            length.
    """
    output_length, num_tasks = int(output_length), int(num_tasks)
    if output_length < 1 or num_tasks < 1:
        raise ValueError(f"profile_count: output_length={output_length}, num_tasks={num_tasks}; both must be "
                         f"positive (ChromBPNet: output_length={PROFILE_COUNT_OUTPUT_LENGTH}, num_tasks=1)")
    names = profile_count_layer_names(layer_prefix)
    length = features.shape[1]
    needed = output_length + PROFILE_KERNEL_SIZE - 1
    if length is None:
        raise IncompatibleHeadError(
            "profile_count needs features of a known length to centre-crop them; build with a fixed input_length")
    if length < needed:
        raise IncompatibleHeadError(
            f"profile_count needs features at least output_length + {PROFILE_KERNEL_SIZE - 1} = {needed} long "
            f"(its profile convolution is {PROFILE_KERNEL_SIZE} wide, valid padding); pass a longer input_length "
            f"or a smaller output_length", min_feature_length=needed)

    # The output layers compute in float32 under a mixed precision policy (their inputs are cast up):
    # softmax over 1,000 logits and exp(logcounts) lose too much in 16 bits.
    # FewFilterConv1D: Conv1D's variables and function, as one matrix product (a one-filter convolution
    # 75 wide is slow in every CPU convolution kernel)
    profile = FewFilterConv1D(num_tasks, PROFILE_KERNEL_SIZE, padding="valid", dtype="float32",
                              name=names["profile_conv"])(features)
    profile = keras.layers.Cropping1D(centre_crop_widths(profile.shape[1], output_length), dtype="float32",
                                      name=names["crop"])(profile)
    profile = keras.layers.Flatten(dtype="float32", name=names["profile"])(profile)

    pooled = keras.layers.GlobalAveragePooling1D(dtype="float32", name=names["gap"])(features)
    logcounts = keras.layers.Dense(num_tasks, dtype="float32", name=names["logcounts"])(pooled)
    return {"profile": profile, "logcounts": logcounts}
