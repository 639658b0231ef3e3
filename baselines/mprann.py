"""MPRAnn (Agarwal et al. 2025, human lentiMPRA): its conv tower and dense head.

Backbone (all ``valid``): Conv1D(250, 7, ReLU) BN; Conv1D(250, 8, softmax over channels) BN,
MaxPool 2, Dropout 0.1; Conv1D(250, 3, softmax) BN; Conv1D(100, 2, softmax) BN, MaxPool 1,
Dropout 0.1. Head: flatten -> Dense 300 sigmoid -> Dropout 0.3 -> Dense 200 sigmoid -> Dense(n)
linear. Keras defaults for initialisation and BatchNorm, as the original. Layer names follow the
original where it named them (``conv1``..``conv4``, ``maxpool1``, ``maxpool2``). Published input:
230 x 4 (15 bp adaptor + 200 bp element + 15 bp adaptor), ACGT.

The original's single Dense(n) output is one Dense(1) per task here (the same parameters: each
output unit has its own weights and bias), so each task is a named ``(batch, 1)`` output.
"""

from __future__ import annotations

from typing import Sequence

import keras

from dream_keras.heads.static_length import static_feature_length
from dream_keras.heads.task_names import resolve_task_names
from dream_keras.registry import register_backbone, register_head

FILTERS = (250, 250, 250, 100)
KERNEL_SIZES = (7, 8, 3, 2)
ACTIVATIONS = ("relu", "softmax", "softmax", "softmax")
POOL_AFTER = {1: ("maxpool1", 2), 3: ("maxpool2", 1)}  # conv index -> (name, pool size), then dropout 0.1
DENSE_UNITS = (300, 200)


def mprann_feature_length(input_length: int, kernel_sizes: Sequence[int] = KERNEL_SIZES) -> int:
    """Length of the backbone's features for a given input length."""
    length = input_length
    for index, kernel_size in enumerate(kernel_sizes):
        length -= int(kernel_size) - 1
        if index in POOL_AFTER:
            length //= POOL_AFTER[index][1]
    return length


@register_backbone(
    "mprann", default_head="mprann", alphabet="ACGT", recipe="mprann",
    defaults={"input_length": 230, "channels": 4, "filters": list(FILTERS), "kernel_sizes": list(KERNEL_SIZES)})
def mprann_backbone(x, filters: Sequence[int] = FILTERS, kernel_sizes: Sequence[int] = KERNEL_SIZES):
    """MPRAnn conv tower.

    Args:
        x: one-hot sequence ``(batch, length, 4)`` with ``mprann_feature_length(length) >= 1``.
        filters: the four convolutions' widths.
        kernel_sizes: the four convolutions' kernel sizes.

    Returns:
        features ``(batch, mprann_feature_length(length), filters[3])``.
    """
    if len(filters) != 4 or len(kernel_sizes) != 4:
        raise ValueError(f"mprann: filters {list(filters)} and kernel_sizes {list(kernel_sizes)} need 4 entries "
                         f"each (the original: {list(FILTERS)}, {list(KERNEL_SIZES)})")
    length = x.shape[1]
    if length is not None and mprann_feature_length(length, kernel_sizes) < 1:
        smallest = next(n for n in range(1, 10_000) if mprann_feature_length(n, kernel_sizes) >= 1)
        raise ValueError(f"mprann with kernel_sizes {list(kernel_sizes)} needs input_length >= {smallest}; "
                         f"got {length}")
    for index, (n_filters, kernel_size, activation) in enumerate(zip(filters, kernel_sizes, ACTIVATIONS)):
        x = keras.layers.Conv1D(int(n_filters), int(kernel_size), padding="valid", activation=activation,
                                name=f"conv{index + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"mprann_bn{index + 1}")(x)
        if index in POOL_AFTER:
            pool_name, pool_size = POOL_AFTER[index]
            x = keras.layers.MaxPooling1D(pool_size, name=pool_name)(x)
            x = keras.layers.Dropout(0.1, name=f"{pool_name}_dropout")(x)
    return x


@register_head("mprann", defaults={"dense_units": list(DENSE_UNITS)},
               input_defaults={"input_length": 230, "channels": 4, "alphabet": "ACGT"})
def mprann_head(features, task_names: Sequence[str] | None = None, num_tasks: int | None = None,
                dense_units: Sequence[int] = DENSE_UNITS):
    """MPRAnn dense head.

    Args:
        features: ``(batch, length, width)`` of known length.
        task_names: output names; default ``["activity"]`` (``task_0..`` for ``num_tasks > 1``).
        num_tasks: number of tasks when ``task_names`` is not given.
        dense_units: widths of the two sigmoid dense layers.

    Returns:
        ``{task: (batch, 1)}`` for each task.
    """
    static_feature_length(features, "mprann")
    if len(dense_units) != 2:
        raise ValueError(f"mprann head: dense_units {list(dense_units)} needs 2 entries (the original: "
                         f"{list(DENSE_UNITS)})")
    tasks = resolve_task_names("mprann", task_names, num_tasks, published=["activity"])
    x = keras.layers.Flatten(name="mprann_flatten")(features)
    x = keras.layers.Dense(int(dense_units[0]), activation="sigmoid", name="mprann_dense_1")(x)
    x = keras.layers.Dropout(0.3, name="mprann_dense_dropout")(x)
    x = keras.layers.Dense(int(dense_units[1]), activation="sigmoid", name="mprann_dense_2")(x)
    return {task: keras.layers.Dense(1, name=f"mprann_{task}")(x) for task in tasks}
