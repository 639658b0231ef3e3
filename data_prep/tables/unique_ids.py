"""Sequence tables name each row once: a repeated ID is refused with its file lines.

Decision: an ID given twice is refused whether its sequences differ (two measurements under one
name: which is right cannot be told) or are the same (a repeated row, most often two files
concatenated, weights one element twice). The official DeepSTARR and lentiMPRA tables give every
row its own ID (strand and ``_Reversed:`` orientation are part of the ID), and the samples in
``tests/data`` hold no repeat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_prep.errors import InputError


def check_unique_ids(frame: pd.DataFrame, id_column: str, sequence_column: str, lines: np.ndarray, path) -> None:
    """Raise :class:`InputError` naming the first repeated ID of ``frame[id_column]`` and its lines.

    Args:
        frame: the table (one row per file data line).
        id_column: name of the ID column.
        sequence_column: name of the sequence column (shown for the repeated rows).
        lines: the 1-based file line of each row.
        path: the file, for the message.
    """
    if id_column not in frame.columns:
        return
    repeated = frame[id_column].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    rows = np.flatnonzero(repeated)
    first = frame[id_column].iloc[rows[0]]
    same = rows[(frame[id_column].to_numpy()[rows] == first)]
    at = ", ".join(str(int(lines[r])) for r in same[:5])
    sequences = set(frame[sequence_column].iloc[same]) if sequence_column in frame.columns else set()
    kind = "with different sequences" if len(sequences) > 1 else "with the same sequence (a repeated row)"
    count = int(frame[id_column].duplicated().sum())
    raise InputError(f"{path}: {id_column} {first!r} appears on lines {at} {kind}; {count} row(s) in all repeat an "
                     f"earlier {id_column}. Fix: give each row its own {id_column} (keep one row per element)")


__all__ = ["check_unique_ids"]
