"""Dinucleotide shuffles of one-hot sequences (Altschul & Erickson 1985, Eulerian-path method).

A shuffle keeps the first and last base and the count of every dinucleotide (``AC``, ``CG``, ...;
N counts as a fifth letter), so the references of integrated gradients keep the sequence's GC
content and CpG frequency while its motifs are destroyed.

Method: the sequence is a walk through a multigraph whose vertices are letters and whose edges are
the successive dinucleotides. Another walk using every edge once (an Eulerian path from the same
first letter) is another sequence with the same dinucleotides. Altschul & Erickson draw such a walk
uniformly: (1) for every letter except the last, pick one of its outgoing edges at random as its
*last exit*, and redraw until the last exits lead from every letter to the final letter without a
cycle (a spanning arborescence); (2) put every letter's other outgoing edges in random order, its
last exit at the end; (3) walk from the first letter, always taking the next unused edge.
"""

from __future__ import annotations

import numpy as np

_N = 4  # the token of a position with no base (all-zero one-hot row)


def _tokens(onehot: np.ndarray) -> np.ndarray:
    """``(L, 4+)`` one-hot -> ``(L,)`` tokens 0..3, or 4 for an all-zero (N) row."""
    bases = np.asarray(onehot)[:, :4]
    return np.where(bases.any(axis=1), bases.argmax(axis=1), _N)


def _last_exits(successors: dict[int, np.ndarray], last: int, rng: np.random.Generator) -> dict[int, int]:
    """Step (1): an index into each letter's successor list, forming an arborescence into ``last``."""
    while True:
        exits = {vertex: int(rng.integers(len(following))) for vertex, following in successors.items()
                 if vertex != last}
        if all(_reaches(vertex, exits, successors, last) for vertex in exits):
            return exits


def _reaches(vertex: int, exits: dict[int, int], successors: dict[int, np.ndarray], last: int) -> bool:
    seen = set()
    while vertex != last:
        if vertex in seen:
            return False
        seen.add(vertex)
        vertex = int(successors[vertex][exits[vertex]])
    return True


def shuffle_tokens(tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform dinucleotide shuffle of a token sequence ``(L,)`` (any small integers)."""
    tokens = np.asarray(tokens)
    if len(tokens) < 3:
        return tokens.copy()
    first, last = int(tokens[0]), int(tokens[-1])
    sources, targets = tokens[:-1], tokens[1:]
    successors = {int(vertex): targets[sources == vertex] for vertex in np.unique(sources)}
    exits = _last_exits(successors, last, rng)
    orders: dict[int, list[int]] = {}
    for vertex, following in successors.items():
        if vertex in exits:  # step (2): the last exit goes last, the rest in random order
            keep = exits[vertex]
            rest = np.delete(following, keep)
            orders[vertex] = rng.permutation(rest).tolist() + [int(following[keep])]
        else:
            orders[vertex] = rng.permutation(following).tolist()
    # Step (3): the walk. Each letter's list is consumed from the front, in order.
    position = dict.fromkeys(orders, 0)
    walk = [first]
    vertex = first
    for _ in range(len(tokens) - 1):
        step = position[vertex]
        position[vertex] = step + 1
        vertex = orders[vertex][step]
        walk.append(vertex)
    return np.asarray(walk, dtype=tokens.dtype)


def dinucleotide_shuffle(onehot: np.ndarray, n_shuffles: int = 20, seed: int | np.random.Generator | None = 0,
                         dtype=np.float32) -> np.ndarray:
    """Dinucleotide-shuffled copies of one-hot sequences.

    Args:
        onehot: ``(L, C)`` or ``(n, L, C)``: four base channels (any order; the shuffle permutes
            positions, not channels), then any flag channels, which are copied unchanged (they are
            constant along the sequence in this project's encodings).
        n_shuffles: copies per sequence.
        seed: an integer seed or a ``numpy.random.Generator``; the same seed gives the same copies.
        dtype: of the result.

    Returns:
        ``(n_shuffles, L, C)`` for one sequence, ``(n, n_shuffles, L, C)`` for several.
    """
    onehot = np.asarray(onehot)
    single = onehot.ndim == 2
    batch = onehot[None] if single else onehot
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    rows = np.concatenate([np.eye(4), np.zeros((1, 4))]).astype(dtype)  # token -> one-hot row (N: zeros)
    out = np.empty((len(batch), n_shuffles, *batch.shape[1:]), dtype=dtype)
    for index, sequence in enumerate(batch):
        tokens = _tokens(sequence)
        out[index, :, :, 4:] = sequence[None, :, 4:]
        for copy in range(n_shuffles):
            out[index, copy, :, :4] = rows[shuffle_tokens(tokens, rng)]
    return out[0] if single else out
