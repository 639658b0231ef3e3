"""The table format STARR-seq and lentiMPRA share.

ACGT sequences of one length, an id column that marks the reverse orientation, measurement columns, and an
optional ``is_reverse`` input channel.

:class:`FlaggedTableFormat` holds what differs between the two (column names, length, the id's
reverse mark, the part of a sequence a reverse complement turns); its methods are the steps both
modules take: read and check the rows (file and line named on every mistake), encode, reverse-
complement, and the two orientations for test-time averaging. Each task module keeps its own public
functions (``load_starrseq``, ``encode_lentimpra``, ...), built on these.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import numpy as np
import pandas as pd

from data_prep.onehot import one_hot_encode
from data_prep.tables.encoding import append_flag_channels, reverse_complement_one_hot
from data_prep.tables.reading import check_sequences, numeric_column, read_tsv, require_columns
from data_prep.tables.sequence_table import REVERSE_COMPLEMENT_COPY, SequenceTable
from data_prep.tables.unique_ids import check_unique_ids

#: The flag channel's name.
IS_REVERSE = "is_reverse"


@dataclasses.dataclass(frozen=True)
class FlaggedTableFormat:
    """One task's table format.

    Attributes:
        task: the task key (``starrseq``, ``lentimpra``).
        input_length: bp of every sequence.
        sequence_column, id_column: the columns of the sequences and of their ids.
        reverse_mark: the text in an id that marks the reverse orientation.
        target_columns: ``{task name: column}`` of the measurements.
        file_format: the format in words, for error messages.
        training_columns: columns a table to train on needs besides the sequences and targets.
        span: ``(start, stop)`` of the part a reverse complement turns (``None``: the whole sequence).
        alphabet: the one-hot channel order.
    """

    task: str
    input_length: int
    sequence_column: str
    id_column: str
    reverse_mark: str
    target_columns: dict
    file_format: str
    training_columns: tuple = ()
    span: tuple | None = None
    alphabet: str = "ACGT"

    @property
    def task_names(self) -> list[str]:
        """The regression targets, in output order."""
        return list(self.target_columns)

    def channel_names(self, reverse_channel: bool = False) -> tuple[str, ...]:
        """The channel names of the encoding: the bases, then ``is_reverse`` when asked for."""
        return tuple(self.alphabet) + ((IS_REVERSE,) if reverse_channel else ())

    def is_reverse_id(self, ids) -> np.ndarray:
        """True for ids that carry :attr:`reverse_mark`."""
        return pd.Series(ids, dtype=str).str.contains(self.reverse_mark, regex=False).to_numpy()

    def encode_checked(self, sequences: Sequence[str], reverse_channel: bool = False, is_reverse=0,
                       dtype=np.float32) -> np.ndarray:
        """New sequences encoded for prediction.

        Args:
            sequences: n strings of :attr:`input_length` ACGTN (any case).
            reverse_channel: add the ``is_reverse`` channel.
            is_reverse: the channel's value, a scalar or ``(n,)``.
            dtype: the array's dtype.

        Returns:
            ``(n, input_length, 4)``, or ``(n, input_length, 5)`` with the channel.

        Raises:
            InputError: naming the 0-based index of a sequence of the wrong length or with other letters.
        """
        sequences = list(sequences)
        check_sequences(sequences, np.arange(len(sequences)), "sequences", allowed="ACGTN",
                        length=self.input_length, row_label="index")
        return self._encode(sequences, is_reverse, reverse_channel, dtype)

    def _encode(self, sequences: Sequence[str], is_reverse, reverse_channel: bool, dtype) -> np.ndarray:
        bases = one_hot_encode(sequences, self.alphabet, dtype=dtype)
        return append_flag_channels(bases, is_reverse) if reverse_channel else bases

    def reverse_complement(self, encoded: np.ndarray) -> np.ndarray:
        """``(n, L, C)`` encodings reverse-complemented over :attr:`span`; an ``is_reverse`` channel flips."""
        start, stop = self.span or (0, None)
        flipped = reverse_complement_one_hot(encoded, self.alphabet, start, stop)
        if encoded.shape[-1] > len(self.alphabet):
            flipped[:, :, len(self.alphabet)] = 1 - encoded[:, :, len(self.alphabet)]
        return flipped

    def with_reverse_complements(self, table: SequenceTable) -> SequenceTable:
        """The rows followed by their reverse-complement copies (same targets; ``is_reverse`` flipped)."""
        copies = table.table.copy()
        copies[REVERSE_COMPLEMENT_COPY] = True
        return table.appended(self.reverse_complement(table.sequences), copies)

    def test_time_inputs(self, sequences: Sequence[str], reverse_channel: bool = False,
                         dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
        """Both orientations for prediction averaging: ``(forward, reverse)``."""
        forward = self.encode_checked(sequences, reverse_channel=reverse_channel, dtype=dtype)
        return forward, self.reverse_complement(forward)

    def read_rows(self, path: str | os.PathLike, *, require_targets: bool,
                  reverse_channel: bool) -> tuple[str, pd.DataFrame, np.ndarray, dict]:
        """Read and check a table: ``(path, frame, file lines, targets)``.

        Targets (``{task: (n, 1) float32}``) are read when every target column is there.

        Raises:
            InputError: a missing column (named), or the file line of a sequence that is not
                ``input_length`` bp of ACGTN, of a repeated id, or of a target that is not a number.
        """
        path = os.fspath(path)
        frame, lines = read_tsv(path, header=True, what=self.file_format)
        training = [*self.training_columns, *self.target_columns.values()] if require_targets else []
        required = [self.sequence_column, *training] + ([self.id_column] if reverse_channel else [])
        require_columns(frame, list(dict.fromkeys(required)), path, self.file_format)
        check_sequences(frame[self.sequence_column].tolist(), lines, path, allowed="ACGTN",
                        length=self.input_length, column=self.sequence_column)
        check_unique_ids(frame, self.id_column, self.sequence_column, lines, path)
        targets = {}
        if all(column in frame.columns for column in self.target_columns.values()):
            for task, column in self.target_columns.items():
                values = numeric_column(frame, column, lines, path)
                frame[column] = values
                targets[task] = values.astype(np.float32)[:, None]
        return path, frame, lines, targets

    def sequence_table(self, path: str, frame: pd.DataFrame, lines: np.ndarray, targets: dict, *,
                       reverse_channel: bool, dtype) -> SequenceTable:
        """The checked rows as a :class:`SequenceTable` (``is_reverse`` from the ids when asked for)."""
        is_reverse = self.is_reverse_id(frame[self.id_column]) if reverse_channel else 0
        frame[REVERSE_COMPLEMENT_COPY] = False
        sequences = self._encode(frame[self.sequence_column].tolist(), is_reverse, reverse_channel, dtype)
        return SequenceTable(sequences, targets, frame, self.task, self.task_names, self.alphabet,
                             self.channel_names(reverse_channel), source=path, lines=lines)


__all__ = ["FlaggedTableFormat", "IS_REVERSE"]
