"""The DREAM regression head for MPRA and STARR-seq tasks (Prix Fixe Autosome final block).

Per task: 1x1 conv to 256 channels -> global average pool -> Dense(1). Initialised as the Autosome
code does.
"""

from __future__ import annotations

from typing import Sequence

import keras

from dream_keras.heads.task_names import resolve_task_names
from dream_keras.layers import autosome_conv_kernel, autosome_dense_kernel
from dream_keras.registry import register_head

MAPPER_FILTERS = 256


@register_head("regression", defaults={"mapper_filters": MAPPER_FILTERS})
def regression(features, task_names: Sequence[str] | None = None, num_tasks: int | None = None,
               mapper_filters: int = MAPPER_FILTERS):
    """One scalar output per task.

    Args:
        features: ``(batch, length, width)``, any length.
        task_names: output names; default ``["activity"]`` (or ``task_0..`` for ``num_tasks > 1``).
        num_tasks: number of tasks when ``task_names`` is not given.
        mapper_filters: channels of each task's 1x1 conv.

    Returns:
        ``{task: (batch, 1)}`` for each task.
    """
    outputs = {}
    for task in resolve_task_names("regression", task_names, num_tasks, published=["activity"]):
        x = keras.layers.Conv1D(int(mapper_filters), 1, padding="same", kernel_initializer=autosome_conv_kernel(),
                                name=f"regression_{task}_mapper")(features)
        x = keras.layers.GlobalAveragePooling1D(name=f"regression_{task}_mean")(x)
        outputs[task] = keras.layers.Dense(1, kernel_initializer=autosome_dense_kernel(),
                                           name=f"regression_{task}")(x)
    return outputs
