"""Group sorted windows into spans that are read from disk in one go."""

from __future__ import annotations

from typing import Iterator

import numpy as np


def read_blocks(lo: np.ndarray, hi: np.ndarray, max_block_bp: int, merge_gap_bp: int) -> Iterator[slice]:
    """Split windows ``[lo[i], hi[i])``, sorted by ``lo``, into consecutive groups.

    A window joins the current group when it starts at most ``merge_gap_bp`` after the group's end
    (reading a short gap is cheaper than a second read) and the group then spans at most
    ``max_block_bp`` (bounding the memory of one read). Yields one slice of window indices per group.
    """
    if len(lo) == 0:
        return
    first, block_lo, block_hi = 0, int(lo[0]), int(hi[0])
    for index in range(1, len(lo)):
        start, end = int(lo[index]), int(hi[index])
        if start > block_hi + merge_gap_bp or max(block_hi, end) - block_lo > max_block_bp:
            yield slice(first, index)
            first, block_lo, block_hi = index, start, end
        else:
            block_hi = max(block_hi, end)
    yield slice(first, len(lo))
