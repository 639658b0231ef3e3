"""What each sequence-table task is: its loader, encoding, augmentation, split and default model."""

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
        task_names: the regression targets, in output order; ``target_columns`` maps each to its column.
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
    target_columns: dict[str, str]
    soft_bins: bool


TASKS: dict[str, TaskSpec] = {
    "dream_yeast": TaskSpec(
        name="dream_yeast", load=dream_yeast.load_dream_yeast, encode=dream_yeast.encode_dream_yeast,
        with_reverse_complements=dream_yeast.with_reverse_complements,
        test_time_inputs=dream_yeast.test_time_inputs, split=dream_yeast.split_dream_yeast,
        input_length=dream_yeast.INPUT_LENGTH, channels=len(dream_yeast.CHANNEL_NAMES),
        alphabet=dream_yeast.ALPHABET, channel_names=dream_yeast.CHANNEL_NAMES,
        task_names=tuple(dream_yeast.TASK_NAMES), target_columns={"expression": "expression"}, soft_bins=True),
    "starrseq": TaskSpec(
        name="starrseq", load=starrseq.load_starrseq, encode=starrseq.encode_starrseq,
        with_reverse_complements=starrseq.with_reverse_complements,
        test_time_inputs=starrseq.test_time_inputs, split=starrseq.split_by_chromosome,
        input_length=starrseq.INPUT_LENGTH, channels=len(starrseq.ALPHABET), alphabet=starrseq.ALPHABET,
        channel_names=starrseq.channel_names(), task_names=tuple(starrseq.TASK_NAMES),
        target_columns=dict(starrseq.TARGET_COLUMNS), soft_bins=False),
    "lentimpra": TaskSpec(
        name="lentimpra", load=lentimpra.load_lentimpra, encode=lentimpra.encode_lentimpra,
        with_reverse_complements=lentimpra.with_reverse_complements,
        test_time_inputs=lentimpra.test_time_inputs, split=lentimpra.cross_validation_split,
        input_length=lentimpra.INPUT_LENGTH, channels=len(lentimpra.ALPHABET), alphabet=lentimpra.ALPHABET,
        channel_names=lentimpra.channel_names(), task_names=tuple(lentimpra.TASK_NAMES),
        target_columns=dict(lentimpra.TARGET_COLUMNS), soft_bins=False),
}
