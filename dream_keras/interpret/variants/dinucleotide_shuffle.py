"""The dinucleotide shuffle of the official variant scorer, seed for seed, for a batch of sequences at once.

The official scorer shuffles each shuffled variant's genome segment with DeepLIFT's
``dinuc_shuffle(text, rng=numpy.random.RandomState(seed))``. Its method, written again here:

1. the letters of the text are sorted (``numpy.unique``: byte order, so ``A C G N T a c g n t``;
   soft-masked lower case is a letter of its own) and numbered 0..T-1;
2. for every letter ``t`` in that order, the positions that follow an occurrence of ``t`` (the
   last position excluded) are listed in order, and all but the last entry of the list are put in
   the order ``rng.permutation(len - 1)`` draws (the last entry stays last);
3. a walk starts at the first letter and, from letter ``t``, goes to the next unused entry of
   ``t``'s list; the letters met form the shuffled text (same first letter, same dinucleotide counts).

With the same seed this gives the same text as the official function (the draws of step 2 are the
same calls in the same order). Step 3 is a loop over positions; here it runs over a whole batch
of sequences at once (one vectorised step per position), which makes the shuffles of a chunk of
variants cheap next to predicting them. :mod:`dream_keras.interpret.shuffle` holds the
Altschul-Erickson shuffle used for contribution baselines; this one exists for parity with the
official p-values.
"""

from __future__ import annotations

import numpy as np


def _successor_tokens(sequence: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Steps 1-2 for one sequence: ``(letters, tokens, successor tokens per letter in walk order)``."""
    letters, tokens = np.unique(sequence, return_inverse=True)
    tokens = tokens.reshape(-1)
    rng = np.random.RandomState(int(seed))
    before = tokens[:-1]
    lists = []
    for token in range(len(letters)):
        following = np.flatnonzero(before == token) + 1
        order = np.arange(len(following))
        order[:-1] = rng.permutation(len(following) - 1)  # the last exit stays last
        lists.append(tokens[following[order]])
    return letters, tokens, lists


def _walk(first: np.ndarray, successors: np.ndarray, length: int) -> np.ndarray:
    """Step 3 for a batch: ``first`` ``(B,)`` tokens, ``successors`` ``(B, T, K)`` -> tokens ``(B, length)``."""
    batch = len(first)
    rows = np.arange(batch)
    used = np.zeros(successors.shape[:2], dtype=np.int64)
    walked = np.empty((batch, length), dtype=successors.dtype)
    current = first.astype(successors.dtype)
    walked[:, 0] = current
    for position in range(1, length):
        step = used[rows, current]
        used[rows, current] = step + 1
        current = successors[rows, current, step]
        walked[:, position] = current
    return walked


def dinucleotide_shuffles(sequences: np.ndarray, seeds) -> np.ndarray:
    """Shuffle each row of ``sequences`` as the official scorer's ``dinuc_shuffle`` with ``RandomState(seed)``.

    Args:
        sequences: ``(n, length)`` ``uint8`` letter codes (case kept: it changes the shuffle, as in
            the official scorer, which shuffles the FASTA text as read).
        seeds: ``n`` integer seeds, one per row.

    Returns:
        ``(n, length)`` ``uint8``: each row a permutation of its input with the same first letter and
        the same count of every dinucleotide.
    """
    sequences = np.asarray(sequences, dtype=np.uint8)
    seeds = np.asarray(seeds).reshape(-1)
    if sequences.ndim != 2 or len(seeds) != len(sequences):
        raise ValueError(f"need (n, length) sequences and n seeds; got {sequences.shape} and {len(seeds)} seeds")
    n, length = sequences.shape
    if n == 0 or length < 2:
        return sequences.copy()
    prepared = [_successor_tokens(row, seed) for row, seed in zip(sequences, seeds)]
    letters_max = max(len(letters) for letters, _, _ in prepared)
    width = max(len(entries) for _, _, lists in prepared for entries in lists)
    successors = np.zeros((n, letters_max, max(width, 1)), dtype=np.int16)
    letter_codes = np.zeros((n, letters_max), dtype=np.uint8)
    for row, (letters, _, lists) in enumerate(prepared):
        letter_codes[row, :len(letters)] = letters
        for token, entries in enumerate(lists):
            successors[row, token, :len(entries)] = entries
    first = np.array([tokens[0] for _, tokens, _ in prepared])
    walked = _walk(first, successors, length)
    return np.take_along_axis(letter_codes, walked.astype(np.int64), axis=1)


def dinucleotide_shuffle_text(text: str, seed: int) -> str:
    """One shuffle of a text (as the official ``dinuc_shuffle(text, rng=RandomState(seed))``)."""
    codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)[None]
    return dinucleotide_shuffles(codes, [seed])[0].tobytes().decode("ascii")


__all__ = ["dinucleotide_shuffle_text", "dinucleotide_shuffles"]
