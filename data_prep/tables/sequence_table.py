"""The loaded form of an assay table: encoded sequences, named targets and the input rows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

REVERSE_COMPLEMENT_COPY = "reverse_complement_copy"
"""Column added by augmentation: False for the rows read from the file, True for their copies."""


@dataclasses.dataclass(frozen=True)
class SequenceTable:
    """Encoded sequences and their targets, row-aligned with the table they came from.

    Attributes:
        sequences: ``(n, L, C)`` one-hot bases in ``alphabet`` order followed by any flag channels
            (``channel_names`` lists all C).
        targets: target name -> array; ``(n, 1)`` float32 per task, plus ``"bins"`` ``(n, 18)`` soft-bin
            probabilities for DREAM yeast. Empty when the file holds no measurements (prediction).
        table: the n input rows (pandas), one per example, with derived columns (e.g. ``is_singleton``,
            ``reverse_complement_copy`` after augmentation). Its index is 0..n-1.
        task: the task key in ``TASKS`` (``dream_yeast``, ``starrseq``, ``lentimpra``).
        task_names: the regression tasks, in output order (e.g. ``["Dev", "Hk"]``).
        alphabet: the order of the base channels (``"AGCT"`` or ``"ACGT"``).
        channel_names: names of all C channels, e.g. ``("A", "G", "C", "T", "is_reverse", "is_singleton")``.
        source: the file the rows were read from, or None for sequences given in memory.
        lines: ``(n,)`` the file line of each row (augmented copies keep their original's line), or None.
    """

    sequences: np.ndarray
    targets: dict[str, np.ndarray]
    table: pd.DataFrame
    task: str
    task_names: list[str]
    alphabet: str
    channel_names: tuple[str, ...]
    source: str | None = None
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.sequences.shape[0])

    def subset(self, indices) -> "SequenceTable":
        """The rows at ``indices`` (integer positions), as a new SequenceTable with a fresh 0..m-1 index."""
        indices = np.asarray(indices, dtype=np.int64)
        return dataclasses.replace(
            self,
            sequences=self.sequences[indices],
            targets={name: values[indices] for name, values in self.targets.items()},
            table=self.table.iloc[indices].reset_index(drop=True),
            lines=None if self.lines is None else self.lines[indices],
        )

    def appended(self, sequences: np.ndarray, table: pd.DataFrame) -> "SequenceTable":
        """These rows followed by new rows that carry the same targets (used by augmentation).

        Args:
            sequences: ``(n, L, C)`` new encoded sequences, row i derived from row i of this table.
            table: n rows describing them.
        """
        return dataclasses.replace(
            self,
            sequences=np.concatenate([self.sequences, sequences], axis=0),
            targets={name: np.concatenate([values, values], axis=0) for name, values in self.targets.items()},
            table=pd.concat([self.table, table], ignore_index=True),
            lines=None if self.lines is None else np.concatenate([self.lines, self.lines]),
        )

    def line_of(self, row: int) -> str:
        """The file line of a row for messages (its 1-based row number when lines are unknown)."""
        return str(self.lines[row]) if self.lines is not None else f"(row {row + 1})"


@dataclasses.dataclass(frozen=True)
class SplitIndices:
    """Integer row positions of a table's train, validation and test parts (disjoint, sorted)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    @classmethod
    def from_masks(cls, train: np.ndarray, valid: np.ndarray, test: np.ndarray) -> "SplitIndices":
        """From three boolean masks over the rows."""
        return cls(np.flatnonzero(train), np.flatnonzero(valid), np.flatnonzero(test))
