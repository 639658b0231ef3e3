"""Read 5' ends of one chromosome: the unit every reader yields and every consumer takes."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class ReadEnds:
    """The 5' ends of a run of consecutive reads on one chromosome, before any shift.

    The 5' end follows the official (bedtools ``genomecov -5``) convention: ``start`` for a read on
    the + strand, ``end - 1`` for a read on the - strand (0-based, BED coordinates).

    Attributes:
        chrom: chromosome (contig) name as written in the input.
        five_prime: int64 array (n,), 0-based 5' end of each read.
        minus: bool array (n,), True for reads on the - strand.
        where: where the run starts in the input, for messages (e.g. ``"line 12"``, ``"record 7"``).
    """

    chrom: str
    five_prime: np.ndarray
    minus: np.ndarray
    where: str

    def __len__(self) -> int:
        return len(self.five_prime)
