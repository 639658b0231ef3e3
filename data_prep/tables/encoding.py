"""Helpers around :mod:`data_prep.onehot` for the sequence tables.

One-hot encoding itself is :func:`data_prep.onehot.one_hot_encode` (a 256-entry byte lookup table;
N and other letters give all-zero rows; lower case accepted). Here: the character check that
names a bad row, flag channels appended to one-hot arrays, and the reverse complement of a region
of one-hot arrays (the lentiMPRA element between fixed adaptors).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from data_prep.onehot import reverse_complement as reverse_complement_bases


def _allowed_lookup(allowed: str) -> np.ndarray:
    """A 256-entry table: True for the bytes of ``allowed`` in upper and lower case."""
    lookup = np.zeros(256, dtype=bool)
    for letter in allowed.upper():
        lookup[ord(letter)] = lookup[ord(letter.lower())] = True
    return lookup


def first_invalid_character(sequences: Sequence[str], allowed: str) -> tuple[int, int, str, int] | None:
    """Finds characters outside ``allowed`` (case-insensitive) in a list of strings.

    Args:
        sequences: n strings of any lengths.
        allowed: the accepted letters, e.g. ``"ACGTN"``.

    Returns:
        ``None`` when every character is allowed, else ``(row, position, character, bad_rows)``:
        the first offending row, the 0-based position and the character in it, and how many rows
        hold at least one bad character.
    """
    if len(sequences) == 0:
        return None
    # errors="replace" turns each non-ASCII character into one "?" byte, keeping positions aligned.
    joined = np.frombuffer("".join(sequences).encode("ascii", errors="replace"), dtype=np.uint8)
    ok = _allowed_lookup(allowed)[joined]
    if ok.all():
        return None
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    ends = np.cumsum(lengths)
    bad_positions = np.flatnonzero(~ok)
    bad_row_ids = np.searchsorted(ends, bad_positions, side="right")
    row = int(bad_row_ids[0])
    position = int(bad_positions[0] - (ends[row] - lengths[row]))
    return row, position, sequences[row][position], int(np.unique(bad_row_ids).size)


def append_flag_channels(bases: np.ndarray, *flags) -> np.ndarray:
    """Appends one constant-along-length channel per flag to one-hot sequences.

    Args:
        bases: ``(n, L, C)``.
        flags: each a scalar (all rows) or an ``(n,)`` array (one value per row).

    Returns:
        ``(n, L, C + len(flags))`` of ``bases.dtype``.
    """
    n, length, _ = bases.shape
    channels = np.empty((n, length, len(flags)), dtype=bases.dtype)
    for index, flag in enumerate(flags):
        flag = np.asarray(flag, dtype=np.float64)
        channels[:, :, index] = flag.reshape(-1, 1) if flag.ndim else flag
    return np.concatenate([bases, channels], axis=-1)


def reverse_complement_one_hot(x: np.ndarray, alphabet: str, start: int = 0,
                               stop: int | None = None) -> np.ndarray:
    """Reverse-complements the bases of one-hot sequences, optionally only inside ``[start, stop)``.

    Args:
        x: ``(n, L, C)``: four base channels in ``alphabet`` order (complement-symmetric: ACGT, AGCT),
            then any flag channels, which are copied unchanged.
        alphabet: the base channels' order.
        start: first position to reverse-complement (0-based); the positions outside ``[start, stop)``
            are left as they are (e.g. fixed adaptors).
        stop: end of the reverse-complemented positions (exclusive; ``None``: the sequence's end).

    Returns:
        a new array of the same shape and dtype.
    """
    out = x.copy()
    out[:, start:stop, :4] = reverse_complement_bases(x[:, start:stop, :4], alphabet)
    return out
