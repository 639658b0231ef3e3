"""Human lentiMPRA tables (Agarwal et al.): 230 bp = 15 bp adaptor + 200 bp element + 15 bp adaptor.

Columns (tab-separated, with a header): ``seq_id seq mean_value fold``. Each element was measured in
both orientations: ``<name>_F`` and ``<name>_Reversed:`` carry the same adaptors around the element
and its reverse complement. Other ids (e.g. ``_shuffled_0`` controls) have no partner.

- Encoding: one-hot ``A, C, G, T`` (N: all zero). With ``reverse_channel=True`` a fifth ``is_reverse``
  channel is added, 1 for ``_Reversed:`` rows, as the DREAM human benchmark did.
- Task: ``activity`` <- ``mean_value``.
- Folds: ``fold`` holds the cross-validation fold labels (0-9 in the bundled sample, 1-10 in other
  releases). A sequence and its reverse complement must share a fold; on load, a reversed row whose
  fold differs from its forward partner's is moved to the forward row's fold (with a warning), so
  pairs never straddle train and test. :func:`cross_validation_split` gives round k's parts.
- Augmentation (:func:`with_reverse_complements`) reverse-complements the element only, positions
  15 to 214 (0-based), and leaves the two 15-base adaptors as they are: the same construct as the
  measured ``_Reversed:`` orientation.
"""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.tables.flagged_format import FlaggedTableFormat
from data_prep.tables.reading import integer_column
from data_prep.tables.sequence_table import SequenceTable, SplitIndices

TASK = "lentimpra"
ALPHABET = "ACGT"
INPUT_LENGTH = 230
ADAPTOR_LENGTH = 15
ELEMENT_START = ADAPTOR_LENGTH                   # 15, first element base (0-based)
ELEMENT_STOP = INPUT_LENGTH - ADAPTOR_LENGTH     # 215, one past the last element base (214)
ID_COLUMN = "seq_id"
SEQUENCE_COLUMN = "seq"
FOLD_COLUMN = "fold"
REVERSED_MARK = "_Reversed:"
FORWARD_SUFFIX = "_F"
TARGET_COLUMNS = {"activity": "mean_value"}
TASK_NAMES = list(TARGET_COLUMNS)
FILE_FORMAT = "a lentiMPRA table: tab-separated with a header naming seq_id, seq, mean_value, fold"


#: The format's steps (reading, encoding, reverse complements of the element), shared with STARR-seq.
FORMAT = FlaggedTableFormat(TASK, INPUT_LENGTH, SEQUENCE_COLUMN, ID_COLUMN, REVERSED_MARK, TARGET_COLUMNS,
                            FILE_FORMAT, training_columns=(ID_COLUMN, FOLD_COLUMN),
                            span=(ELEMENT_START, ELEMENT_STOP), alphabet=ALPHABET)


def channel_names(reverse_channel: bool = False) -> tuple[str, ...]:
    """The channel names of the encoding: the bases, then ``is_reverse`` when asked for."""
    return FORMAT.channel_names(reverse_channel)


def is_reversed_id(seq_ids) -> np.ndarray:
    """True for ids marking the reverse orientation (``_Reversed:`` anywhere in the id)."""
    return FORMAT.is_reverse_id(seq_ids)


def pair_keys(seq_ids) -> np.ndarray:
    """The element each id belongs to: the id without ``_Reversed:`` and without a trailing ``_F``.

    ``seq22915_F`` and ``seq22915_Reversed:`` both give ``seq22915``.
    """
    ids = pd.Series(seq_ids, dtype=str).str.replace(REVERSED_MARK, "", regex=False)
    return ids.str.replace(f"{FORWARD_SUFFIX}$", "", regex=True).to_numpy()


def align_pair_folds(seq_ids, folds: np.ndarray) -> tuple[np.ndarray, int]:
    """Gives each reversed row the fold of its forward partner (the first forward row of its pair).

    Args:
        seq_ids: n ids.
        folds: ``(n,)`` fold labels as read.

    Returns:
        ``(folds, moved)``: the aligned labels and how many rows changed fold.
    """
    keys = pair_keys(seq_ids)
    forward = ~is_reversed_id(seq_ids)
    forward_fold = pd.Series(folds[forward], index=keys[forward])
    forward_fold = forward_fold[~forward_fold.index.duplicated(keep="first")]
    partner_fold = forward_fold.reindex(keys).to_numpy()
    has_partner = ~pd.isna(partner_fold)
    aligned = np.where(has_partner, partner_fold, folds).astype(np.int64)
    return aligned, int((aligned != folds).sum())


def load_lentimpra(path: str | os.PathLike, require_targets: bool = True, reverse_channel: bool = False,
                   dtype=np.float32) -> SequenceTable:
    """Reads and encodes a lentiMPRA table, aligning the folds of reverse-complement pairs.

    Args:
        path: the table (tab-separated, header line).
        require_targets: False accepts a table without ``mean_value`` and ``fold`` (prediction).
        reverse_channel: add the ``is_reverse`` channel from ``_Reversed:`` in ``seq_id`` (needs seq_id).
        dtype: dtype of ``sequences``.

    Returns:
        SequenceTable with ``sequences`` ``(n, 230, 4 or 5)``, target ``activity`` ``(n, 1)``, and the
        table's ``fold`` as int (pair-aligned) when present.

    Raises:
        InputError: a missing column (named), or the file line of a sequence that is not 230 bp of ACGTN,
            a ``mean_value`` that is not a number, or a ``fold`` that is not a whole number.
    """
    path, frame, lines, targets = FORMAT.read_rows(path, require_targets=require_targets,
                                                   reverse_channel=reverse_channel)
    if FOLD_COLUMN in frame.columns:
        folds = integer_column(frame, FOLD_COLUMN, lines, path)
        if ID_COLUMN in frame.columns:
            folds, moved = align_pair_folds(frame[ID_COLUMN].to_numpy(), folds)
            if moved:
                warnings.warn(f"{path}: {moved} reverse-orientation rows had a different fold from their forward "
                              "sequence and were moved to the forward sequence's fold.", stacklevel=2)
        frame[FOLD_COLUMN] = folds
    return FORMAT.sequence_table(path, frame, lines, targets, reverse_channel=reverse_channel, dtype=dtype)


def encode_lentimpra(sequences: Sequence[str], reverse_channel: bool = False, is_reverse=0,
                     dtype=np.float32) -> np.ndarray:
    """Encodes 230 bp constructs (adaptor + element + adaptor) for prediction.

    Returns ``(n, 230, 4)``, or ``(n, 230, 5)`` with the ``is_reverse`` channel (its value ``is_reverse``,
    scalar or ``(n,)``); see :meth:`FlaggedTableFormat.encode_checked`.
    """
    return FORMAT.encode_checked(sequences, reverse_channel, is_reverse, dtype)


def reverse_complement_element(encoded: np.ndarray) -> np.ndarray:
    """Reverse-complements positions 15..214 of ``(n, 230, C)`` constructs, keeping both adaptors.

    An ``is_reverse`` channel, if present, is flipped (0 <-> 1).
    """
    return FORMAT.reverse_complement(encoded)


def with_reverse_complements(table: SequenceTable) -> SequenceTable:
    """The rows followed by copies whose 200 bp element is reverse-complemented (same targets and folds).

    Tables that already hold both measured orientations of an element get a second copy of each;
    use this on tables of single orientations or accept the duplicates.
    """
    return FORMAT.with_reverse_complements(table)


def test_time_inputs(sequences: Sequence[str], reverse_channel: bool = False,
                     dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Both element orientations for prediction averaging: ``(forward, reverse)``, each ``(n, 230, C)``."""
    return FORMAT.test_time_inputs(sequences, reverse_channel, dtype)


test_time_inputs.__test__ = False  # a library function, not a pytest test


def cross_validation_split(table: SequenceTable, k: int, valid_fold: int | None = None,
                           folds: Sequence[int] | None = None) -> SplitIndices:
    """Round ``k`` of the fold cross-validation: fold k is the test set, one other fold validation.

    The validation fold is the next fold label after k, wrapping around (k=9 -> 0 for labels 0-9,
    k=10 -> 1 for labels 1-10); ``valid_fold`` overrides it. The rest is training. Pairs share a fold
    (see :func:`align_pair_folds`), so both orientations of an element are always on the same side.

    Args:
        table: a loaded lentiMPRA table with a ``fold`` column.
        k: the test fold label.
        valid_fold: the validation fold label, or None for the next one.
        folds: all fold labels in order (default: the sorted labels in the table).

    Raises:
        InputError: no fold column, or k / valid_fold not a fold label, or k == valid_fold.
    """
    if FOLD_COLUMN not in table.table.columns:
        raise InputError(f"{table.source or 'table'}: no {FOLD_COLUMN!r} column, needed for cross-validation. "
                         f"Fix: use {FILE_FORMAT}.")
    row_folds = table.table[FOLD_COLUMN].to_numpy(dtype=np.int64)
    labels = sorted(set(row_folds.tolist())) if folds is None else [int(f) for f in folds]
    if k not in labels:
        raise InputError(f"fold {k} is not one of the fold labels {labels}. Fix: choose k among them.")
    if valid_fold is None:
        valid_fold = labels[(labels.index(k) + 1) % len(labels)]
    if valid_fold not in labels or valid_fold == k:
        raise InputError(f"validation fold {valid_fold} must be a fold label other than the test fold {k} "
                         f"(labels: {labels}).")
    test, valid = row_folds == k, row_folds == valid_fold
    return SplitIndices.from_masks(~(test | valid), valid, test)
