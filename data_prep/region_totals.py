"""Which summit-centred windows fit their chromosome, and each window's total counts.

Which summit-centred windows fit their chromosome, and the total counts of each region's window, read from the bigWig
alone (no window is held in memory).

The fold loaders filter regions on these totals before any window is extracted, so that only the
windows training keeps are ever read into memory (or, with streaming, none at all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from data_prep.blocks import read_blocks
from data_prep.signal import opened_signal, read_signal
from data_prep.windows import MAX_BLOCK_BP, MERGE_GAP_BP, window_starts


def windows_fit(summits: np.ndarray, chrom_lengths: np.ndarray, seq_width: int, count_width: int) -> np.ndarray:
    """Bool ``(n,)``.

    The ``seq_width`` sequence and ``count_width`` counts windows centred on each summit both lie inside the chromosome
    (the rule :func:`data_prep.extract_windows` drops by).
    """
    summits = np.asarray(summits, dtype=np.int64)
    seq_lo, count_lo = window_starts(summits, seq_width), window_starts(summits, count_width)
    lo = np.minimum(seq_lo, count_lo)
    hi = np.maximum(seq_lo + seq_width, count_lo + count_width)
    return (lo >= 0) & (hi <= np.asarray(chrom_lengths, dtype=np.int64))


def region_totals(regions: pd.DataFrame, signal, width: int, *, progress: bool | None = None) -> np.ndarray:
    """Sum of the bigWig over the ``width`` bp window centred on each region's summit.

    Args:
        regions: DataFrame with ``chrom`` and ``summit`` (windows must lie inside their chromosome).
        signal: bigWig path or open ``pyBigWig`` object (no data reads as 0).
        width: window width (bp), e.g. the model's ``output_length``.
        progress: show a progress bar (``None``: only on a terminal).

    Returns:
        float64 ``(n,)`` in the order of ``regions``: the same numbers as summing the float32 counts of
        extracted windows (each window summed on its own, in float64).
    """
    n = len(regions)
    totals = np.zeros(n, dtype=np.float64)
    if n == 0:
        return totals
    lo = window_starts(regions["summit"].to_numpy(dtype=np.int64), width)
    chroms = regions["chrom"].to_numpy()
    with opened_signal(signal) as bigwig, tqdm(total=n, desc="region totals", unit="region",
                                                disable=None if progress is None else not progress) as bar:
        for chrom in pd.unique(chroms):
            rows = np.flatnonzero(chroms == chrom)
            rows = rows[np.argsort(lo[rows], kind="stable")]
            chrom_lo = lo[rows]
            for part in read_blocks(chrom_lo, chrom_lo + width, MAX_BLOCK_BP, MERGE_GAP_BP):
                block_lo = int(chrom_lo[part][0])
                values = read_signal(bigwig, chrom, block_lo, int(chrom_lo[part].max()) + width)
                for row, start in zip(rows[part].tolist(), (chrom_lo[part] - block_lo).tolist()):
                    totals[row] = values[start:start + width].sum(dtype=np.float64)
                bar.update(len(rows[part]))
    return totals
