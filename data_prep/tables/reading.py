"""Reading tab-separated assay tables with errors that name the file, the line and the fix.

The reader returns the file line number of each row next to the rows, and the checks take those
numbers, so a bad value is reported where the user can find it (blank lines are skipped but counted).
"""

from __future__ import annotations

import csv
import os
from typing import Sequence

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.tables.encoding import first_invalid_character


def read_tsv(path: str | os.PathLike, header: bool, column_names: Sequence[str] | None = None,
             what: str = "a tab-separated table") -> tuple[pd.DataFrame, np.ndarray]:
    """Reads a TSV as strings, keeping blank-line-free rows and their 1-based file line numbers.

    Args:
        path: the file.
        header: whether the first line names the columns.
        column_names: names for a file without a header (its column count must not exceed them).
        what: the expected format, for error messages.

    Returns:
        ``(frame, lines)``: all values as str (missing fields are ""), and the file line of each row.

    Raises:
        InputError: the file is missing, empty, or a line has too many fields.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file. Fix: give the path of {what}.")
    try:
        frame = pd.read_csv(path, sep="\t", header=0 if header else None, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, quoting=csv.QUOTE_NONE)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty. Fix: give {what}.") from None
    except pd.errors.ParserError as error:
        raise InputError(f"{path}: {str(error).strip()}. Fix: each line must have the same tab-separated fields "
                         f"({what}).") from None
    first_data_line = 2 if header else 1
    lines = np.arange(first_data_line, first_data_line + len(frame))
    if not header:
        if column_names is None or frame.shape[1] > len(column_names):
            raise InputError(f"{path} line 1: {frame.shape[1]} tab-separated fields, expected at most "
                             f"{len(column_names or [])}. Fix: give {what}.")
        frame.columns = list(column_names[:frame.shape[1]])
    blank = (frame == "").all(axis=1).to_numpy()
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]
    if len(frame) == 0:
        raise InputError(f"{path}: no data rows. Fix: give {what}.")
    return frame, lines


def require_columns(frame: pd.DataFrame, columns: Sequence[str], path: str, what: str) -> None:
    """Raises InputError naming the file and the first missing column."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column {missing[0]!r} (columns found: {', '.join(map(str, frame.columns))})."
                         f" Fix: the header must name {', '.join(columns)} ({what}).")


def check_sequences(sequences: Sequence[str], lines: np.ndarray, path: str, allowed: str = "ACGTN",
                    length: int | None = None, column: str = "sequence", row_label: str = "line") -> None:
    """Raises InputError for an empty sequence, a character outside ``allowed``, or a wrong length.

    Args:
        sequences: n strings (any case).
        lines: the n file line numbers (or 0-based positions for in-memory input).
        path: the file name (or a description such as ``"sequence list"``).
        allowed: the accepted letters (case-insensitive).
        length: the required length, or None for any non-empty length.
        column: the column's name, for the message.
        row_label: what ``lines`` counts (``"line"`` in a file, ``"index"`` in a list).
    """
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise InputError(f"{path} {row_label} {lines[empty[0]]}: empty {column}"
                         f"{_more(empty.size)}. Fix: every row needs a DNA sequence.")
    bad = first_invalid_character(sequences, allowed)
    if bad is not None:
        row, position, character, bad_rows = bad
        raise InputError(f"{path} {row_label} {lines[row]}: {column} has {character!r} at position {position + 1}, "
                         f"not one of {', '.join(allowed)}{_more(bad_rows)}. Fix: use only {allowed} "
                         f"(upper or lower case).")
    if length is not None:
        wrong = np.flatnonzero(lengths != length)
        if wrong.size:
            raise InputError(f"{path} {row_label} {lines[wrong[0]]}: {column} is {lengths[wrong[0]]} bp, expected "
                             f"{length}{_more(wrong.size)}. Fix: give {length} bp sequences.")


def numeric_column(frame: pd.DataFrame, column: str, lines: np.ndarray, path: str) -> np.ndarray:
    """The column as finite float64, or InputError naming the first non-numeric line."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError(f"{path} line {lines[bad[0]]}: {column} is {frame[column].iloc[bad[0]]!r}, not a "
                         f"finite number{_more(bad.size)}. Fix: give a number in every row of {column}.")
    return values


def integer_column(frame: pd.DataFrame, column: str, lines: np.ndarray, path: str) -> np.ndarray:
    """The column as int64, or InputError naming the first line that is not a whole number."""
    values = numeric_column(frame, column, lines, path)
    bad = np.flatnonzero(values != np.round(values))
    if bad.size:
        raise InputError(f"{path} line {lines[bad[0]]}: {column} is {frame[column].iloc[bad[0]]!r}, not a whole "
                         f"number{_more(bad.size)}. Fix: {column} holds integer labels.")
    return values.astype(np.int64)


def _more(count: int) -> str:
    return f" (and {count - 1} more rows)" if count > 1 else ""
