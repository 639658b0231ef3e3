"""Per-base counts written as a bigWig through a temporary name (:mod:`data_prep.reads.bigwig_format`)."""

from __future__ import annotations

import os
import pathlib
from typing import Callable

import numpy as np

from data_prep.outputs.atomic import atomic_path
from data_prep.reads.bigwig_format import write_bigwig


def write_counts_bigwig(path: str | os.PathLike, sizes: dict[str, int],
                        counts_of: Callable[[str], np.ndarray | None], zoom_levels: int = 10) -> pathlib.Path:
    """Write a bigWig whose header lists every chromosome of ``sizes`` (in that order).

    Args:
        path: the bigWig to write; it appears only once complete.
        sizes: chromosome name -> length (bp).
        counts_of: chromosome -> uint32 array (2, n) of increasing 0-based positions and their
            counts, or None for a chromosome without reads; with zoom levels it is called twice per
            chromosome (the levels are chosen from the counts).
        zoom_levels: most zoom (summary) levels, as bedGraphToBigWig's 10; 0 writes none (values are
            the same; genome browsers draw zoomed-out views more slowly).

    Returns:
        ``path``. Bases without reads have no entry (read back as NaN / no interval), as in the
        official bedGraph; every counted base is one 1-bp entry.

    Raises:
        OSError: the file could not be written completely (a full disk): nothing is left under ``path``.
    """
    with atomic_path(path) as tmp:
        write_bigwig(tmp, sizes, counts_of, zoom_levels=zoom_levels)
    return pathlib.Path(path)


def bigwig_total(path: str | os.PathLike) -> int:
    """The sum of a bigWig's values (the total of its header), rounded to a whole count."""
    import pyBigWig

    with pyBigWig.open(str(path)) as handle:
        return int(round(handle.header()["sumData"]))
