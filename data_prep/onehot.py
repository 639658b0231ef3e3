"""One-hot encoding of DNA text, and the reverse complement of one-hot arrays."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from data_prep.errors import InputError

#: The complement of each base; an alphabet is "complement-symmetric" when reading it backwards
#: gives the complement of each letter (ACGT -> TGCA, AGCT -> TCGA), so that flipping the channel
#: axis of a one-hot array complements it.
_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


def _check_alphabet(alphabet: str) -> str:
    alphabet = alphabet.upper()
    if len(alphabet) != 4 or sorted(alphabet) != ["A", "C", "G", "T"]:
        raise InputError(f"alphabet {alphabet!r} must be an ordering of the four letters A, C, G, T "
                         "(e.g. 'ACGT', or 'AGCT' for the DREAM models)")
    return alphabet


def lookup_table(alphabet: str = "ACGT", dtype=np.uint8) -> np.ndarray:
    """The (256, 4) table mapping a byte (ASCII code) to its one-hot row.

    Upper- and lower-case A, C, G, T map to the channel given by ``alphabet``; every other byte
    (N, IUPAC codes, gaps) maps to all zeros.
    """
    alphabet = _check_alphabet(alphabet)
    table = np.zeros((256, 4), dtype=dtype)
    for channel, letter in enumerate(alphabet):
        table[ord(letter), channel] = 1
        table[ord(letter.lower()), channel] = 1
    return table


def encode_bytes(codes: np.ndarray, alphabet: str = "ACGT", dtype=np.uint8) -> np.ndarray:
    """One-hot encode an array of ASCII codes (uint8, any shape) -> shape + (4,)."""
    return lookup_table(alphabet, dtype)[np.asarray(codes, dtype=np.uint8)]


def one_hot_encode(seqs: str | Sequence[str], alphabet: str = "ACGT", dtype=np.uint8) -> np.ndarray:
    """One-hot encode DNA text without a per-base Python loop.

    Args:
        seqs: one string (-> shape ``(length, 4)``) or a sequence of ``n`` equal-length strings
            (-> shape ``(n, length, 4)``). Lower case (soft-masked) bases are accepted; N and any other
            letter encode as all zeros.
        alphabet: channel order, ``"ACGT"`` (default) or another ordering such as ``"AGCT"``.
        dtype: ``np.uint8`` (default) or ``np.float32``.
    """
    single = isinstance(seqs, str)
    texts = [seqs] if single else list(seqs)
    if not texts:
        return np.zeros((0, 0, 4), dtype=dtype)
    length = len(texts[0])
    for index, text in enumerate(texts):
        if len(text) != length:
            raise InputError(f"sequence {index} has length {len(text)}, but sequence 0 has length {length}; "
                             "one-hot encoding needs equal lengths (pad or crop them first)")
    codes = np.frombuffer("".join(texts).encode("ascii", errors="replace"), dtype=np.uint8)
    encoded = encode_bytes(codes, alphabet, dtype).reshape(len(texts), length, 4)
    return encoded[0] if single else encoded


def one_hot_decode(onehot: np.ndarray, alphabet: str = "ACGT") -> str | list[str]:
    """Inverse of :func:`one_hot_encode`: ``(length, 4)`` -> str, ``(n, length, 4)`` -> list of str.

    All-zero rows decode as ``N``.
    """
    alphabet = _check_alphabet(alphabet)
    onehot = np.asarray(onehot)
    letters = np.frombuffer((alphabet + "N").encode(), dtype=np.uint8)
    index = np.where(onehot.any(axis=-1), onehot.argmax(axis=-1), 4)
    codes = letters[index]
    if codes.ndim == 1:
        return codes.tobytes().decode()
    return [row.tobytes().decode() for row in codes]


def reverse_complement(onehot: np.ndarray, alphabet: str = "ACGT") -> np.ndarray:
    """Reverse complement one-hot sequence(s) ``(..., length, 4)``: flip the length and channel axes.

    Flipping the channel axis complements a base only for complement-symmetric orders (ACGT, AGCT,
    TCGA, ...); other orders raise :class:`InputError`. Returns a view (no copy).
    """
    alphabet = _check_alphabet(alphabet)
    if "".join(_COMPLEMENT[letter] for letter in alphabet) != alphabet[::-1]:
        raise InputError(f"alphabet {alphabet!r} is not complement-symmetric, so flipping channels does not "
                         "complement; use 'ACGT' or 'AGCT'")
    return onehot[..., ::-1, ::-1]
