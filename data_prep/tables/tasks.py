"""What each sequence-table task is: its loader, encoding, augmentation and split."""

from __future__ import annotations

import dataclasses
from typing import Callable

from data_prep.tables import dream_yeast, lentimpra, starrseq


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One task's data contract and defaults (plain values and functions).

    Attributes:
        name: the task key (``--task`` on the command line).
        load: ``load(path, require_targets=True, dtype=np.float32, ...) -> SequenceTable``.
        encode: ``encode(sequences, ...) -> (n, input_length, channels)`` for new sequences (forward).
        with_reverse_complements: ``(SequenceTable) -> SequenceTable`` with 2n rows (training augmentation).
        test_time_inputs: ``(sequences) -> (forward, reverse)`` arrays whose predictions are averaged.
        split: the task's split function (see each module; its arguments differ by task).
        input_length, channels, alphabet, channel_names: the encoded input ``(input_length, channels)``
            with defaults (no optional channels).
        task_names: the regression targets, in output order.
        soft_bins: whether targets include ``bins`` (18 soft-bin probabilities) for a ``soft_bins`` head.

    Which model a task trains by default is model knowledge: it lives with the models
    (``dream_keras.tasks.tables.train`` and each backbone's registry entry), not here.
    """

    name: str
    load: Callable
    encode: Callable
    with_reverse_complements: Callable
    test_time_inputs: Callable
    split: Callable
    input_length: int
    channels: int
    alphabet: str
    channel_names: tuple[str, ...]
    task_names: tuple[str, ...]
    soft_bins: bool


def _flagged_task(module, load: Callable, encode: Callable, split: Callable) -> TaskSpec:
    """The entry of a task whose module reads a :class:`~data_prep.tables.flagged_format.FlaggedTableFormat`."""
    table_format = module.FORMAT
    return TaskSpec(name=table_format.task, load=load, encode=encode,
                    with_reverse_complements=module.with_reverse_complements,
                    test_time_inputs=module.test_time_inputs, split=split, input_length=table_format.input_length,
                    channels=len(table_format.alphabet), alphabet=table_format.alphabet,
                    channel_names=table_format.channel_names(), task_names=tuple(table_format.task_names),
                    soft_bins=False)


TASKS: dict[str, TaskSpec] = {
    "dream_yeast": TaskSpec(
        name="dream_yeast", load=dream_yeast.load_dream_yeast, encode=dream_yeast.encode_dream_yeast,
        with_reverse_complements=dream_yeast.with_reverse_complements,
        test_time_inputs=dream_yeast.test_time_inputs, split=dream_yeast.split_dream_yeast,
        input_length=dream_yeast.INPUT_LENGTH, channels=len(dream_yeast.CHANNEL_NAMES),
        alphabet=dream_yeast.ALPHABET, channel_names=dream_yeast.CHANNEL_NAMES,
        task_names=tuple(dream_yeast.TASK_NAMES), soft_bins=True),
    "starrseq": _flagged_task(starrseq, starrseq.load_starrseq, starrseq.encode_starrseq,
                              starrseq.split_by_chromosome),
    "lentimpra": _flagged_task(lentimpra, lentimpra.load_lentimpra, lentimpra.encode_lentimpra,
                               lentimpra.cross_validation_split),
}
