"""DeepSTARR (de Almeida et al. 2022): the conv tower and its two-task dense head.

Backbone: four blocks Conv1D (``same``) -> BatchNorm -> ReLU -> MaxPool(2) with (filters, kernel)
(256, 7), (60, 3), (60, 5), (120, 3). Head: flatten -> 2 x (Dense 256, BatchNorm, ReLU,
Dropout 0.4) -> Dense(1) per task (``Dev``, ``Hk``). Keras defaults for initialisation and
BatchNorm, as the original (Keras 2.2). Layer names follow the original where it named them
(``Conv1D_1st``, ``Conv1D_2``..., ``Dense_1``, ``Dense_2``, ``Dense_Dev``, ``Dense_Hk``).
Published input: 249 x 4, ACGT.
"""

from __future__ import annotations

from typing import Sequence

import keras

from dream_keras.heads.static_length import static_feature_length
from dream_keras.heads.task_names import resolve_task_names
from dream_keras.registry import register_backbone, register_head

FILTERS = (256, 60, 60, 120)
KERNEL_SIZES = (7, 3, 5, 3)
DENSE_UNITS = (256, 256)
DROPOUT = 0.4
TASKS = ("Dev", "Hk")


def _conv_name(index: int) -> str:
    return "Conv1D_1st" if index == 0 else f"Conv1D_{index + 1}"


@register_backbone(
    "deepstarr", default_head="deepstarr", alphabet="ACGT", recipe="deepstarr",
    defaults={"input_length": 249, "channels": 4, "filters": list(FILTERS), "kernel_sizes": list(KERNEL_SIZES)})
def deepstarr_backbone(x, filters: Sequence[int] = FILTERS, kernel_sizes: Sequence[int] = KERNEL_SIZES):
    """DeepSTARR conv tower.

    Args:
        x: one-hot sequence ``(batch, length, 4)``, ``length >= 2**len(filters)``.
        filters: output channels of each conv block (one block per entry).
        kernel_sizes: kernel size of each conv block (as many entries as ``filters``).

    Returns:
        features ``(batch, length // 2**len(filters), filters[-1])`` (each pool floors).
    """
    if len(filters) != len(kernel_sizes) or not filters:
        raise ValueError(f"deepstarr: filters {list(filters)} and kernel_sizes {list(kernel_sizes)} need one "
                         f"entry per conv block each, the same number (the original: {list(FILTERS)}, "
                         f"{list(KERNEL_SIZES)})")
    length = x.shape[1]
    if length is not None and length < 2 ** len(filters):
        raise ValueError(f"deepstarr halves the length {len(filters)} times, so it needs input_length >= "
                         f"{2 ** len(filters)}; got {length}")
    for index, (n_filters, kernel_size) in enumerate(zip(filters, kernel_sizes)):
        x = keras.layers.Conv1D(int(n_filters), int(kernel_size), padding="same", name=_conv_name(index))(x)
        x = keras.layers.BatchNormalization(name=f"deepstarr_bn_{index + 1}")(x)
        x = keras.layers.Activation("relu", name=f"deepstarr_relu_{index + 1}")(x)
        x = keras.layers.MaxPooling1D(2, name=f"deepstarr_pool_{index + 1}")(x)
    return x


@register_head("deepstarr", defaults={"dense_units": list(DENSE_UNITS)},
               input_defaults={"input_length": 249, "channels": 4, "alphabet": "ACGT"})
def deepstarr_head(features, task_names: Sequence[str] | None = None, num_tasks: int | None = None,
                   dense_units: Sequence[int] = DENSE_UNITS):
    """DeepSTARR dense head.

    Args:
        features: ``(batch, length, width)`` of known length.
        task_names: output names; default ``["Dev", "Hk"]`` (``task_0..`` for another ``num_tasks``).
        num_tasks: number of tasks when ``task_names`` is not given.
        dense_units: widths of the shared dense layers.

    Returns:
        ``{task: (batch, 1)}`` for each task.
    """
    static_feature_length(features, "deepstarr")
    tasks = resolve_task_names("deepstarr", task_names, num_tasks, published=TASKS)
    x = keras.layers.Flatten(name="deepstarr_flatten")(features)
    for index, units in enumerate(dense_units):
        x = keras.layers.Dense(int(units), name=f"Dense_{index + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"deepstarr_dense_bn_{index + 1}")(x)
        x = keras.layers.Activation("relu", name=f"deepstarr_dense_relu_{index + 1}")(x)
        x = keras.layers.Dropout(DROPOUT, name=f"deepstarr_dense_dropout_{index + 1}")(x)
    return {task: keras.layers.Dense(1, name=f"Dense_{task}")(x) for task in tasks}
