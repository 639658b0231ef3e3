"""The two allele windows of a variant, laid out as the official variant scorer lays them out.

With input length ``L`` and ``F = L // 2``, a variant at 1-based ``pos`` (0-based ``p = pos - 1``)
with alleles ``a1`` (reference) and ``a2`` is read from the *segment* of the genome that starts at
``p - F`` and is ``L + max(len(a1) - len(a2), 0)`` bases long. Each allele's window is

    segment[:F] + allele + segment[F + len(a1):]      cut to L bases

so the allele starts at index ``F``, the left flank is the genome before the variant for both
alleles, and the right flank is the genome after the reference allele: a deletion pulls more
downstream sequence into its window, an insertion pushes the end out. For an SNV both windows
are the segment with base ``F`` replaced. Shuffled variants (the null of the p-values) use the
same layout on a dinucleotide-shuffled segment (:mod:`.dinucleotide_shuffle`), as the official
scorer does. A window must lie inside its chromosome (checked by :mod:`.variant_checks`).
"""

from __future__ import annotations

import numpy as np

from dream_keras.interpret.variants.dinucleotide_shuffle import dinucleotide_shuffles


def segment_lengths(allele1_lengths: np.ndarray, allele2_lengths: np.ndarray, input_length: int) -> np.ndarray:
    """Bases read per variant: ``L + max(len(a1) - len(a2), 0)``."""
    return input_length + np.maximum(np.asarray(allele1_lengths) - np.asarray(allele2_lengths), 0)


def segment_starts(positions: np.ndarray, input_length: int) -> np.ndarray:
    """0-based first base of each variant's segment: ``pos - 1 - L // 2``."""
    return np.asarray(positions, dtype=np.int64) - 1 - input_length // 2


def _codes(allele: str) -> np.ndarray:
    return np.frombuffer(allele.encode("ascii"), dtype=np.uint8)


def allele_windows(bases: np.ndarray, positions, allele1: list[str], allele2: list[str], input_length: int,
                   shuffle_seeds=None) -> tuple[np.ndarray, np.ndarray]:
    """The windows of both alleles of variants on one chromosome.

    Args:
        bases: the chromosome (``uint8`` letter codes, :class:`~.chromosomes.ChromosomeReader`).
        positions: 1-based positions ``(n,)``.
        allele1: the first alleles (``""`` for an empty one).
        allele2: the second alleles (``""`` for an empty one).
        input_length: ``L``, the model's input length.
        shuffle_seeds: ``None``, or one seed per variant: the segment is dinucleotide-shuffled
            first (the official scorer's shuffled variants).

    Returns:
        ``(windows1, windows2)``, each ``uint8`` ``(n, L)`` letter codes.
    """
    length, flank = int(input_length), int(input_length) // 2
    lengths1 = np.array([len(a) for a in allele1], dtype=np.int64)
    lengths2 = np.array([len(a) for a in allele2], dtype=np.int64)
    starts = segment_starts(positions, length)
    n = len(starts)
    windows1 = np.empty((n, length), dtype=np.uint8)
    windows2 = np.empty((n, length), dtype=np.uint8)
    same_length = np.flatnonzero(lengths1 == lengths2)
    if len(same_length):
        segments = bases[starts[same_length, None] + np.arange(length)]
        if shuffle_seeds is not None:
            segments = dinucleotide_shuffles(segments, np.asarray(shuffle_seeds)[same_length])
        windows1[same_length] = segments
        windows2[same_length] = segments
        snv = same_length[lengths1[same_length] == 1]
        if len(snv):
            windows1[snv, flank] = np.frombuffer("".join(allele1[i] for i in snv).encode("ascii"), np.uint8)
            windows2[snv, flank] = np.frombuffer("".join(allele2[i] for i in snv).encode("ascii"), np.uint8)
        for i in same_length[lengths1[same_length] > 1]:  # multi-base substitutions
            windows1[i, flank:flank + lengths1[i]] = _codes(allele1[i])
            windows2[i, flank:flank + lengths2[i]] = _codes(allele2[i])
    indels = np.flatnonzero(lengths1 != lengths2)
    sizes = segment_lengths(lengths1, lengths2, length)
    for size in np.unique(sizes[indels]):
        group = indels[sizes[indels] == size]
        segments = bases[starts[group, None] + np.arange(size)]
        if shuffle_seeds is not None:
            segments = dinucleotide_shuffles(segments, np.asarray(shuffle_seeds)[group])
        for row, i in enumerate(group):
            left, right = segments[row, :flank], segments[row, flank + lengths1[i]:]
            for windows, allele in ((windows1, allele1[i]), (windows2, allele2[i])):
                windows[i] = np.concatenate([left, _codes(allele), right])[:length]
    return windows1, windows2


__all__ = ["allele_windows", "segment_lengths", "segment_starts"]
