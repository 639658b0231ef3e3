"""Drosophila S2 UMI-STARR-seq tables in the DeepSTARR format: two tasks, developmental and housekeeping.

Columns (tab-separated, with a header): ``seqnames start end ID set Sequence Dev_log2_enrichment
Hk_log2_enrichment``. Only ``Sequence`` (249 bp) and, for training, the two enrichment columns are
required; ``seqnames`` is needed for chromosome splits and ``set`` for the published split.

- Encoding: one-hot ``A, C, G, T`` (as DeepSTARR and its Kipoi model card; N: all zero). With
  ``reverse_channel=True`` a fifth ``is_reverse`` channel is added, 1 for rows whose ``ID`` names the
  minus strand (``_-_``), as the DREAM Drosophila benchmark did.
- Tasks: ``Dev`` <- ``Dev_log2_enrichment``, ``Hk`` <- ``Hk_log2_enrichment``.
- Splits: :func:`split_by_chromosome` (any lists of held-out chromosomes) and
  :func:`split_by_set_column` (the published DeepSTARR split as distributed in the ``set`` column:
  Train / Val / Test; it is not a whole-chromosome split: the DeepSTARR Kipoi card describes the
  held-out data as the second half of chromosome 2R). Both orientations of a region sit on the same
  chromosome, so a chromosome split never separates them.
- The published training set already holds both strands of each region as separate rows (same
  activity); :func:`with_reverse_complements` is for tables that do not.
"""

from __future__ import annotations

import os
from typing import Iterable, Sequence

import numpy as np

from data_prep.errors import InputError
from data_prep.tables.flagged_format import FlaggedTableFormat
from data_prep.tables.sequence_table import SequenceTable, SplitIndices

TASK = "starrseq"
ALPHABET = "ACGT"
INPUT_LENGTH = 249
SEQUENCE_COLUMN = "Sequence"
CHROMOSOME_COLUMN = "seqnames"
SET_COLUMN = "set"
ID_COLUMN = "ID"
MINUS_STRAND_MARK = "_-_"
TARGET_COLUMNS = {"Dev": "Dev_log2_enrichment", "Hk": "Hk_log2_enrichment"}
TASK_NAMES = list(TARGET_COLUMNS)
FILE_FORMAT = ("a DeepSTARR table: tab-separated with a header naming Sequence, Dev_log2_enrichment, "
               "Hk_log2_enrichment (and seqnames, start, end, ID, set)")


#: The format's steps (reading, encoding, reverse complements), shared with lentiMPRA.
FORMAT = FlaggedTableFormat(TASK, INPUT_LENGTH, SEQUENCE_COLUMN, ID_COLUMN, MINUS_STRAND_MARK, TARGET_COLUMNS,
                            FILE_FORMAT, alphabet=ALPHABET)


def channel_names(reverse_channel: bool = False) -> tuple[str, ...]:
    """The channel names of the encoding: the bases, then ``is_reverse`` when asked for."""
    return FORMAT.channel_names(reverse_channel)


def load_starrseq(path: str | os.PathLike, require_targets: bool = True, reverse_channel: bool = False,
                  dtype=np.float32) -> SequenceTable:
    """Reads and encodes a DeepSTARR table.

    Args:
        path: the table (tab-separated, header line).
        require_targets: False accepts a table without the enrichment columns (prediction).
        reverse_channel: add the ``is_reverse`` channel from the ``ID`` strand (needs ``ID``).
        dtype: dtype of ``sequences``.

    Returns:
        SequenceTable with ``sequences`` ``(n, 249, 4 or 5)`` and targets ``Dev``, ``Hk`` ``(n, 1)``.

    Raises:
        InputError: a missing column (named), or the file line of a sequence that is not 249 bp of
            ACGTN or of a target that is not a number.
    """
    path, frame, lines, targets = FORMAT.read_rows(path, require_targets=require_targets,
                                                   reverse_channel=reverse_channel)
    return FORMAT.sequence_table(path, frame, lines, targets, reverse_channel=reverse_channel, dtype=dtype)


def encode_starrseq(sequences: Sequence[str], reverse_channel: bool = False, is_reverse=0,
                    dtype=np.float32) -> np.ndarray:
    """Encodes 249 bp sequences for prediction.

    Returns ``(n, 249, 4)``, or ``(n, 249, 5)`` with the ``is_reverse`` channel (its value ``is_reverse``,
    scalar or ``(n,)``); see :meth:`FlaggedTableFormat.encode_checked`.
    """
    return FORMAT.encode_checked(sequences, reverse_channel, is_reverse, dtype)


def with_reverse_complements(table: SequenceTable) -> SequenceTable:
    """The rows followed by their reverse complements (same targets; ``is_reverse`` flipped if present)."""
    return FORMAT.with_reverse_complements(table)


def test_time_inputs(sequences: Sequence[str], reverse_channel: bool = False,
                     dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Both orientations for prediction averaging: ``(forward, reverse)``, each ``(n, 249, C)``."""
    return FORMAT.test_time_inputs(sequences, reverse_channel, dtype)


test_time_inputs.__test__ = False  # a library function, not a pytest test


def _column_or_error(table: SequenceTable, column: str, purpose: str) -> np.ndarray:
    if column not in table.table.columns:
        raise InputError(f"{table.source or 'table'}: missing column {column!r}, needed for {purpose}. "
                         f"Fix: use {FILE_FORMAT}.")
    return table.table[column].astype(str).to_numpy()


def split_by_chromosome(table: SequenceTable, valid_chromosomes: Iterable[str], test_chromosomes: Iterable[str],
                        chromosome_column: str = CHROMOSOME_COLUMN) -> SplitIndices:
    """Holds out whole chromosomes: rows on ``test_chromosomes`` are test, on ``valid_chromosomes`` validation.

    Every other row is training.

    Raises:
        InputError: the column is missing, a chromosome is in both lists, or a named chromosome has no rows.
    """
    chromosomes = _column_or_error(table, chromosome_column, "a chromosome split")
    valid, test = list(valid_chromosomes), list(test_chromosomes)
    both = sorted(set(valid) & set(test))
    if both:
        raise InputError(f"chromosome {both[0]} is in both the validation and the test list. Fix: hold each "
                         "chromosome out once.")
    present = set(chromosomes)
    for name in valid + test:
        if name not in present:
            raise InputError(f"{table.source or 'table'}: no rows on chromosome {name!r} (column "
                             f"{chromosome_column!r} has {', '.join(sorted(present))}). Fix: name chromosomes "
                             "that the table holds.")
    valid_mask, test_mask = np.isin(chromosomes, valid), np.isin(chromosomes, test)
    return SplitIndices.from_masks(~(valid_mask | test_mask), valid_mask, test_mask)


def split_by_set_column(table: SequenceTable, set_column: str = SET_COLUMN) -> SplitIndices:
    """The published DeepSTARR split: ``set`` = Train / Val / Test (case-insensitive; Validation accepted).

    Raises:
        InputError: the column is missing or holds another value (named with its line).
    """
    labels = np.char.lower(_column_or_error(table, set_column, "the published split").astype(str))
    train, valid, test = labels == "train", np.isin(labels, ["val", "valid", "validation"]), labels == "test"
    other = np.flatnonzero(~(train | valid | test))
    if other.size:
        raise InputError(f"{table.source or 'table'} line {table.line_of(other[0])}: {set_column} is "
                         f"{table.table[set_column].iloc[other[0]]!r}. Fix: use Train, Val or Test.")
    return SplitIndices.from_masks(train, valid, test)
