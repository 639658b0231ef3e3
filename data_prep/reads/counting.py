"""Per-base counts of shifted read 5' ends, one chromosome in memory at a time.

The official rule (``reads_to_bigwig``: awk shift, then ``bedtools genomecov -bg -5``): a + strand
read counts at ``five_prime + plus_delta``, a - strand read at ``five_prime + minus_delta``; counts
are unstranded. A position past the chromosome's end is not counted by bedtools; one before its start
stops the official chain (bedtools rejects a negative coordinate); both are dropped here and counted
as ``off_chromosome``. Reads on contigs the genome lacks are dropped and counted per contig, as the
official FASTA filter drops them. A read shorter than its shift (start + delta past its end) stops
the official chain too (bedtools rejects start > end); here its shifted 5' end is counted like any other.

Memory: one uint32 array of the current chromosome's length. A finished chromosome is reduced to its
counted positions and their counts and saved to ``spill_dir``, so reads must come
grouped by chromosome (any sorted file); a chromosome that comes back after another is an error.
"""

from __future__ import annotations

import collections
import pathlib

import numpy as np

from data_prep.errors import InputError
from data_prep.reads.read_ends import ReadEnds

# A window this many times wider than its reads is counted with np.add.at rather than a bincount.
DENSE_SPAN_FACTOR = 16


def nonzero_counts(counts: np.ndarray) -> np.ndarray:
    """The counted bases of a chromosome: uint32 array (2, n) of positions and their counts."""
    position = np.flatnonzero(counts)
    # Filled in place: stacking would promote to int64 and hold three copies of a chromosome's positions.
    result = np.empty((2, len(position)), dtype=np.uint32)
    result[0] = position
    result[1] = counts[position]
    return result


class InsertionCounter:
    """Accumulates shifted 5' ends chromosome by chromosome.

    Args:
        sizes: chromosome name -> length (bp) of the genome.
        plus_delta: shift added to + strand 5' ends (bp).
        minus_delta: shift added to - strand 5' ends (bp).
        spill_dir: folder for the finished chromosomes' runs (``<index>.npy``).
        source: the input file, for messages.

    Attributes:
        kept: reads counted.
        off_chromosome: reads whose shifted 5' end falls outside their chromosome.
        unknown_contigs: Counter, contig name -> reads dropped because the genome lacks it.
        runs: chromosome -> path of its saved counts (see :func:`nonzero_counts`).
    """

    def __init__(self, sizes: dict[str, int], plus_delta: int, minus_delta: int,
                 spill_dir: str | pathlib.Path, source: str):
        self.sizes = sizes
        self.plus_delta, self.minus_delta = plus_delta, minus_delta
        self.spill_dir = pathlib.Path(spill_dir)
        self.source = source
        self.kept = 0
        self.off_chromosome = 0
        self.unknown_contigs: collections.Counter = collections.Counter()
        self.runs: dict[str, pathlib.Path] = {}
        self._done: dict[str, str] = {}
        self._chrom: str | None = None
        self._counts: np.ndarray | None = None

    def add(self, ends: ReadEnds) -> None:
        """Count one run of read ends (all on ``ends.chrom``)."""
        if ends.chrom != self._chrom:
            self._switch_to(ends)
        if self._counts is None:
            self.unknown_contigs[ends.chrom] += len(ends)
            return
        position = ends.five_prime + np.where(ends.minus, self.minus_delta, self.plus_delta)
        if not len(position):
            return
        low, high = int(position.min()), int(position.max()) + 1
        if low < 0 or high > len(self._counts):
            inside = (position >= 0) & (position < len(self._counts))
            self.off_chromosome += int(len(position) - inside.sum())
            position = position[inside]
            if not len(position):
                return
            low, high = int(position.min()), int(position.max()) + 1
        self.kept += len(position)
        if high - low <= DENSE_SPAN_FACTOR * len(position):
            # Sorted input: a batch covers a short window, so one bincount over it is cheapest.
            self._counts[low:high] += np.bincount(position - low, minlength=high - low).astype(np.uint32)
        else:
            np.add.at(self._counts, position, 1)

    def _switch_to(self, ends: ReadEnds) -> None:
        self._finish_current()
        if ends.chrom in self._done:
            raise InputError(
                f"{self.source}: reads on {ends.chrom} start again at {ends.where} after reads on other "
                f"chromosomes (first seen at {self._done[ends.chrom]}); the reads must be sorted by chromosome, "
                "as the official chain sorts them: `sort -k1,1 -k2,2n` a tagAlign or fragments file "
                "(zcat first if gzipped), `samtools sort` a BAM")
        self._done[ends.chrom] = ends.where
        self._chrom = ends.chrom
        size = self.sizes.get(ends.chrom)
        self._counts = None if size is None else np.zeros(size, dtype=np.uint32)

    def _finish_current(self) -> None:
        if self._counts is not None:
            path = self.spill_dir / f"{len(self.runs)}.npy"
            np.save(path, nonzero_counts(self._counts))
            self.runs[self._chrom] = path
        self._counts = None

    def finish(self) -> dict[str, pathlib.Path]:
        """Save the last chromosome; return ``runs`` (chromosome -> saved counts)."""
        self._finish_current()
        self._chrom = None
        return self.runs
