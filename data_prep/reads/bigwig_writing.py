"""Per-base counts written as a bigWig.

Per-base counts written as a bigWig with pyBigWig, through a temporary name, in a child process (libBigWig aborts the
process on a failed write: :mod:`data_prep.outputs.isolated`).
"""

from __future__ import annotations

import os
import pathlib
from typing import Callable

import numpy as np

from data_prep.outputs.atomic import atomic_path
from data_prep.outputs.isolated import run_isolated

ENTRIES_PER_CALL = 1 << 20


def write_counts_bigwig(path: str | os.PathLike, sizes: dict[str, int],
                        counts_of: Callable[[str], np.ndarray | None], zoom_levels: int = 10) -> pathlib.Path:
    """Write a bigWig whose header lists every chromosome of ``sizes`` (in that order).

    Args:
        path: the bigWig to write; it appears only once complete.
        sizes: chromosome name -> length (bp).
        counts_of: chromosome -> uint32 array (2, n) of increasing 0-based positions and their
            counts, or None for a chromosome without reads.
        zoom_levels: most zoom (summary) levels, as bedGraphToBigWig's 10. libBigWig builds them in memory
            on close (about 33 bytes per counted base) and they take half the writing time; 0 writes none
            (values are the same; genome browsers draw zoomed-out views more slowly).

    Returns:
        ``path``. Bases without reads have no entry (read back as NaN / no interval), as in the
        official bedGraph; every counted base is one 1-bp entry.
    """
    import pyBigWig

    def write(tmp: pathlib.Path) -> None:
        bigwig = pyBigWig.open(str(tmp), "w")
        try:
            bigwig.addHeader(list(sizes.items()), maxZooms=zoom_levels)
            for chrom in sizes:
                counts = counts_of(chrom)
                if counts is None or not counts.shape[1]:
                    continue
                # Variable-step 1-bp entries (half the cost of bedGraph entries in pyBigWig), given as the uint32
                # and float32 that libBigWig stores, which pyBigWig copies fastest.
                for first in range(0, counts.shape[1], ENTRIES_PER_CALL):
                    part = counts[:, first:first + ENTRIES_PER_CALL]
                    bigwig.addEntries(chrom, part[0], values=part[1].astype(np.float32), span=1)
        finally:
            bigwig.close()

    with atomic_path(path) as tmp:
        run_isolated(lambda: write(tmp), tmp, path)
    return pathlib.Path(path)
