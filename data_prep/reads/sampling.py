"""A uniform random sample of reads (without replacement) from a stream, in bounded memory.

Every read gets a uniform random key; the sample is the reads with the smallest keys. That is a
uniform sample of the whole stream, like the official ``shuf -n``, but seeded and vectorised.
"""

from __future__ import annotations

import numpy as np

from data_prep.reads.read_ends import ReadEnds


class ReadSample:
    """Keeps ``size`` reads drawn uniformly from all reads added.

    Args:
        size: reads to keep.
        seed: random seed.

    Attributes:
        seen: reads offered so far.
    """

    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self.seen = 0
        self._rng = np.random.default_rng(seed)
        self._chroms: list[str] = []
        self._keys = np.zeros(0)
        self._chrom_index = np.zeros(0, dtype=np.int32)
        self._five = np.zeros(0, dtype=np.int64)
        self._minus = np.zeros(0, dtype=bool)

    def add(self, ends: ReadEnds) -> None:
        """Offer a run of reads to the sample."""
        self.seen += len(ends)
        if ends.chrom not in self._chroms:
            self._chroms.append(ends.chrom)
        keys = self._rng.random(len(ends))
        self._keys = np.concatenate([self._keys, keys])
        self._chrom_index = np.concatenate([self._chrom_index,
                                            np.full(len(ends), self._chroms.index(ends.chrom), dtype=np.int32)])
        self._five = np.concatenate([self._five, ends.five_prime])
        self._minus = np.concatenate([self._minus, ends.minus])
        if len(self._keys) > 2 * self.size:
            self._trim()

    def _trim(self) -> None:
        keep = np.argpartition(self._keys, self.size)[: self.size] if len(self._keys) > self.size \
            else np.arange(len(self._keys))
        self._keys, self._chrom_index = self._keys[keep], self._chrom_index[keep]
        self._five, self._minus = self._five[keep], self._minus[keep]

    def reads(self) -> list[ReadEnds]:
        """The sample as one :class:`ReadEnds` per chromosome."""
        self._trim()
        return [ReadEnds(chrom, self._five[self._chrom_index == i], self._minus[self._chrom_index == i], "sample")
                for i, chrom in enumerate(self._chroms) if (self._chrom_index == i).any()]
