"""Summit-centred windows of one-hot sequence and per-base counts, read from FASTA + bigWig.

Windows are read in blocks: the windows of one chromosome are sorted and grouped into spans of at
most :data:`MAX_BLOCK_BP`, each span is read once from the FASTA and once from the bigWig
(``numpy=True``, float32), and every window is sliced out of it. This avoids per-region Python
string handling and float64 lists while keeping the memory of one read bounded.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from data_prep.blocks import read_blocks
from data_prep.errors import InputError
from data_prep.genome import genome_name, genome_sizes, opened_genome
from data_prep.onehot import lookup_table
from data_prep.peaks import read_regions
from data_prep.signal import opened_signal, read_signal, signal_name, signal_sizes

#: ChromBPNet's windows (bp), the defaults of every ATAC step here (windows, nonpeaks, training
#: parameters): the sequence a model reads, the profile it predicts, and the most a training peak
#: window is shifted by.
CHROMBPNET_INPUT_LENGTH = 2114
CHROMBPNET_OUTPUT_LENGTH = 1000
CHROMBPNET_MAX_JITTER = 500
#: Longest stretch read in one go (bp); bounds the temporary memory of a read.
MAX_BLOCK_BP = 1 << 20
#: Windows closer than this are read together: a bigWig read costs ~100 us however short (index
#: lookup, block decompression), about as much as reading 30 kb more.
MERGE_GAP_BP = 1 << 15


class Windows(NamedTuple):
    """Windows extracted around region summits.

    Attributes:
        sequences: uint8 ``(n, input_length + 2 * max_jitter, 4)`` one-hot (alphabet order as requested;
            N and other letters all zero).
        counts: float32 ``(n, output_length + 2 * max_jitter)`` per-base signal, or ``None`` when no
            bigWig was given.
        regions: DataFrame of the ``n`` kept regions, in input order (index reset).
        dropped: DataFrame of the regions not extracted, with a ``reason`` column.
    """

    sequences: np.ndarray
    counts: np.ndarray | None
    regions: pd.DataFrame
    dropped: pd.DataFrame


def window_starts(summits: np.ndarray, width: int) -> np.ndarray:
    """0-based start of the ``width`` bp window centred on each summit.

    ``summit - width // 2`` (for even widths this is the official ChromBPNet window ``[summit - w/2, summit + w/2)``).
    """
    return np.asarray(summits, dtype=np.int64) - width // 2


def _as_regions(regions) -> pd.DataFrame:
    if isinstance(regions, (str, os.PathLike)):
        regions = read_regions(regions)
    if not isinstance(regions, pd.DataFrame) or "chrom" not in regions:
        raise InputError("regions must be a region file path or a DataFrame with 'chrom' and 'summit' "
                         "(or 'start' and 'end') columns")
    regions = regions.reset_index(drop=True)
    if "summit" not in regions:
        if not {"start", "end"} <= set(regions.columns):
            raise InputError("regions need a 'summit' column or 'start' and 'end' columns to centre windows on")
        regions = regions.assign(summit=(regions["start"].astype(np.int64) + regions["end"].astype(np.int64)) // 2)
    return regions


def _chromosome_lengths(regions, genome, signal, genome_label: str, signal_label: str) -> np.ndarray:
    """Length of each region's chromosome, checking that the FASTA and bigWig know it and agree."""
    fasta_sizes = genome_sizes(genome)
    bigwig_sizes = signal_sizes(signal) if signal is not None else None
    lengths = {}
    for chrom in pd.unique(regions["chrom"]):
        count = int((regions["chrom"] == chrom).sum())
        if chrom not in fasta_sizes:
            raise InputError(f"{count} region(s) lie on {chrom}, which {genome_label} does not have "
                             f"(it has {', '.join(list(fasta_sizes)[:10])}...); check the chromosome naming "
                             "or filter the regions to the genome's chromosomes")
        if bigwig_sizes is not None:
            if chrom not in bigwig_sizes:
                raise InputError(f"{count} region(s) lie on {chrom}, which {signal_label} does not "
                                 "have; check that the bigWig was made against the same genome")
            if bigwig_sizes[chrom] != fasta_sizes[chrom]:
                raise InputError(f"{chrom} is {fasta_sizes[chrom]} bp in {genome_label} but "
                                 f"{bigwig_sizes[chrom]} bp in {signal_label}; the bigWig and FASTA "
                                 "are from different assemblies")
        lengths[chrom] = fasta_sizes[chrom]
    return regions["chrom"].map(lengths).to_numpy(dtype=np.int64)


def extract_windows(regions, genome, signal=None, input_length: int = CHROMBPNET_INPUT_LENGTH,
                    output_length: int = CHROMBPNET_OUTPUT_LENGTH, max_jitter: int = 0, *, alphabet: str = "ACGT",
                    progress: bool | None = None) -> Windows:
    """One-hot sequence and per-base counts centred on each region's summit.

    Args:
        regions: DataFrame with ``chrom`` and ``summit`` (absolute; as from :func:`read_narrowpeak` or
            :func:`read_bed`), or the path of a narrowPeak/BED file.
        genome: FASTA path or open ``pyfaidx.Fasta``. Soft-masked (lower-case) bases read as upper case.
        signal: bigWig path or open ``pyBigWig`` object (NaN reads as 0), or ``None`` for sequence only.
        input_length: model input and output widths (bp).
        output_length: model input and output widths (bp).
        max_jitter: margin added on both sides so that training can shift windows by up to this much.
        alphabet: one-hot channel order.
        progress: show a tqdm bar (``None``: only on a terminal).

    Returns:
        :class:`Windows` with ``sequences`` uint8 ``(n, input_length + 2*max_jitter, 4)`` covering
        ``[summit - W//2, summit - W//2 + W)``, ``counts`` float32 ``(n, output_length + 2*max_jitter)``
        likewise centred, the kept regions, and the dropped ones (``reason``: the window runs off the
        chromosome end). Regions on a chromosome missing from the FASTA or bigWig, or on one whose
        length differs between them, raise :class:`InputError`.
    """
    if min(input_length, output_length) <= 0 or max_jitter < 0:
        raise InputError(f"input_length ({input_length}) and output_length ({output_length}) must be positive "
                         f"and max_jitter ({max_jitter}) at least 0")
    regions = _as_regions(regions)
    genome_label, signal_label = genome_name(genome), signal_name(signal)
    with opened_genome(genome) as fasta, opened_signal(signal) as bigwig:
        lengths = _chromosome_lengths(regions, fasta, bigwig, genome_label, signal_label)
        return _read_windows(regions, lengths, fasta, bigwig, input_length + 2 * max_jitter,
                             output_length + 2 * max_jitter, alphabet, progress)


def _read_windows(regions, lengths, fasta, bigwig, seq_width, count_width, alphabet, progress) -> Windows:
    summits = regions["summit"].to_numpy(dtype=np.int64)
    seq_lo = window_starts(summits, seq_width)
    count_lo = window_starts(summits, count_width)
    lo = np.minimum(seq_lo, count_lo)
    hi = np.maximum(seq_lo + seq_width, count_lo + count_width)
    off_end = (lo < 0) | (hi > lengths)

    dropped = regions[off_end].copy()
    dropped["reason"] = [f"window {c}:{a}-{b} runs off the chromosome end (length {n})"
                         for c, a, b, n in zip(dropped["chrom"], lo[off_end], hi[off_end], lengths[off_end])]
    kept = np.flatnonzero(~off_end)
    sequences = np.empty((len(kept), seq_width, 4), dtype=np.uint8)
    counts = np.empty((len(kept), count_width), dtype=np.float32) if bigwig is not None else None
    # One one-hot row of 4 uint8 is one uint32: gathering whole rows from a 256-entry uint32 table
    # is several times faster than gathering (256, 4) uint8 rows.
    table = lookup_table(alphabet, np.uint8).view(np.uint32).ravel()
    packed = sequences.view(np.uint32).reshape(len(kept), seq_width)

    chroms = regions["chrom"].to_numpy()[kept]
    with tqdm(total=len(kept), desc="extracting windows", unit="region",
              disable=None if progress is None else not progress) as bar:
        for chrom in pd.unique(chroms):
            rows = np.flatnonzero(chroms == chrom)          # output rows on this chromosome
            rows = rows[np.argsort(lo[kept[rows]], kind="stable")]
            chrom_lo, chrom_hi = lo[kept[rows]], hi[kept[rows]]
            for part in read_blocks(chrom_lo, chrom_hi, MAX_BLOCK_BP, MERGE_GAP_BP):
                block_rows = rows[part]
                block_lo, block_hi = int(chrom_lo[part].min()), int(chrom_hi[part].max())
                text = str(fasta[chrom][block_lo:block_hi])
                codes = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
                values = read_signal(bigwig, chrom, block_lo, block_hi) if counts is not None else None
                seq_starts = (seq_lo[kept[block_rows]] - block_lo).tolist()
                count_starts = (count_lo[kept[block_rows]] - block_lo).tolist()
                for row, seq_start, count_start in zip(block_rows.tolist(), seq_starts, count_starts):
                    np.take(table, codes[seq_start:seq_start + seq_width], out=packed[row])
                    if values is not None:
                        counts[row] = values[count_start:count_start + count_width]
                bar.update(len(block_rows))
    return Windows(sequences, counts, regions.iloc[kept].reset_index(drop=True), dropped.reset_index(drop=True))


def crop_windows(windows: Windows, input_length: int, output_length: int) -> Windows:
    """Centre-crop windows to ``input_length`` sequence and ``output_length`` counts.

    Centre-crop windows (e.g. peaks loaded with a jitter margin) to ``input_length`` sequence and ``output_length``
    counts. Returns views of the arrays (no copy).
    """
    sequences = windows.sequences[:, _centre_slice(windows.sequences.shape[1], input_length, "sequences")]
    counts = None
    if windows.counts is not None:
        counts = windows.counts[:, _centre_slice(windows.counts.shape[1], output_length, "counts")]
    return Windows(sequences, counts, windows.regions, windows.dropped)


def _centre_slice(width: int, length: int, what: str) -> slice:
    """The part of a ``width`` window that a ``length`` window with the same summit covers."""
    if length > width:
        raise InputError(f"cannot centre-crop {width} bp {what} to {length} bp")
    left = width // 2 - length // 2
    return slice(left, left + length)
