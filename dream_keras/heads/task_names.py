"""Output names of multi-task heads: from ``task_names``, ``num_tasks`` or the head's published tasks."""

from __future__ import annotations

import re
from typing import Sequence

# Task names become output keys and layer names, so they must be valid Keras layer names.
_VALID_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def resolve_task_names(head: str, task_names: Sequence[str] | None, num_tasks: int | None,
                       published: Sequence[str]) -> list[str]:
    """The names of a head's outputs, one per task.

    Args:
        head: the head's registry name (for error messages).
        task_names: names given by the caller, or ``None``.
        num_tasks: number of tasks given by the caller, or ``None``.
        published: the tasks of the published model (used when neither is given, and when
            ``num_tasks`` equals their number).

    Returns:
        ``task_names`` if given (checked against ``num_tasks``); else ``published`` if
        ``num_tasks`` is ``None`` or ``len(published)``; else ``task_0 ... task_{n-1}``.
    """
    if task_names is not None:
        if isinstance(task_names, str):
            task_names = [task_names]
        names = [str(name) for name in task_names]
        if num_tasks is not None and int(num_tasks) != len(names):
            raise ValueError(f"head {head!r}: num_tasks={num_tasks} but task_names has {len(names)} names "
                             f"{names}; pass one of them, or make them agree")
    elif num_tasks is None or int(num_tasks) == len(published):
        names = list(published)
    else:
        if int(num_tasks) < 1:
            raise ValueError(f"head {head!r}: num_tasks={num_tasks}; pass a positive number of tasks")
        names = [f"task_{index}" for index in range(int(num_tasks))]
    if not names:
        raise ValueError(f"head {head!r}: task_names is empty; pass at least one task name")
    for name in names:
        if not _VALID_NAME.match(name):
            raise ValueError(f"head {head!r}: task name {name!r} cannot name an output; use letters, digits, "
                             f"'_', '-' or '.' only")
    if len(set(names)) != len(names):
        raise ValueError(f"head {head!r}: task names {names} repeat a name; each output needs its own name")
    return names
