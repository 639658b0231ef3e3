"""GC-matched background regions ("nonpeaks") for ChromBPNet training (``prep nonpeaks``).

Candidates are genome-wide bins of ``input_length`` bp every ``stride`` bp on the fold's
chromosomes, without any non-ACGT base (N), not overlapping a peak or a blacklist region padded by
``input_length // 2`` on both sides (as the official ``bedtools slop``). Each peak's GC fraction
is taken over its ``input_length`` window centred on the summit.

Matching, per split (train, valid and test peaks draw from bins on their own split's
chromosomes): GC fractions are rounded to buckets 0.01 wide; every peak asks for ``ratio`` bins
of its bucket (``ratio_trainvalid`` on train/valid, ``ratio_test`` on test), drawn at random
without replacement. When a bucket runs short, the rest comes from the nearest buckets that still
have bins (distance 1, 2, ... buckets; at equal distance the side is chosen at random), which is
what the official per-peak +/-0.01 walk converges to. If a whole split runs short, all its
candidates are returned with a warning.

Output rows are narrowPeak-compatible: ``start, end`` = the bin, ``summit = start + input_length // 2``
(column 10 = ``input_length // 2`` once written with :func:`write_narrowpeak`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from data_prep.blocks import read_blocks
from data_prep.chrom_sizes import as_chrom_sizes
from data_prep.errors import InputError
from data_prep.folds import SPLITS, check_fold
from data_prep.genome import genome_name, genome_sizes, opened_genome
from data_prep.peaks import read_bed, read_regions
from data_prep.windows import CHROMBPNET_INPUT_LENGTH

#: GC buckets are 1 / GC_BUCKETS wide (0.01, as the official rounding to two decimals).
GC_BUCKETS = 100
#: Longest stretch of sequence read at once when counting bases (bp).
MAX_READ_BP = 1 << 22

_GC_CODES = np.zeros(256, dtype=bool)
_ACGT_CODES = np.zeros(256, dtype=bool)
for _letter in "GCgc":
    _GC_CODES[ord(_letter)] = True
for _letter in "ACGTacgt":
    _ACGT_CODES[ord(_letter)] = True


def window_base_counts(genome, chrom: str, starts: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """G+C count and non-ACGT count of each ``[start, start + width)`` window of ``chrom``.

    ``starts`` must be sorted and the windows inside the chromosome. Reads at most
    :data:`MAX_READ_BP` (plus one window) at a time. Returns two int64 arrays shaped like ``starts``.
    """
    starts = np.asarray(starts, dtype=np.int64)
    gc = np.empty(len(starts), dtype=np.int64)
    other = np.empty(len(starts), dtype=np.int64)
    for part in read_blocks(starts, starts + width, MAX_READ_BP, MAX_READ_BP):
        lo, hi = int(starts[part][0]), int(starts[part][-1]) + width
        codes = np.frombuffer(str(genome[chrom][lo:hi]).encode("ascii", errors="replace"), dtype=np.uint8)
        gc_sum = np.concatenate([[0], np.cumsum(_GC_CODES[codes], dtype=np.int64)])
        acgt_sum = np.concatenate([[0], np.cumsum(_ACGT_CODES[codes], dtype=np.int64)])
        left = starts[part] - lo
        gc[part] = gc_sum[left + width] - gc_sum[left]
        other[part] = width - (acgt_sum[left + width] - acgt_sum[left])
    return gc, other


def gc_bucket(gc_fraction: np.ndarray) -> np.ndarray:
    """Bucket index 0..GC_BUCKETS of GC fractions (rounded to the nearest 1/GC_BUCKETS)."""
    return np.rint(np.asarray(gc_fraction) * GC_BUCKETS).astype(np.int64)


def _merged_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    running_end = np.maximum.accumulate(ends) if len(ends) else ends
    new = np.ones(len(starts), dtype=bool)
    new[1:] = starts[1:] > running_end[:-1]
    group = np.cumsum(new) - 1
    merged_ends = np.zeros(new.sum(), dtype=np.int64)
    np.maximum.at(merged_ends, group, ends)
    return starts[new], merged_ends


def overlaps_any(starts: np.ndarray, ends: np.ndarray, excl_starts: np.ndarray, excl_ends: np.ndarray) -> np.ndarray:
    """Bool mask: does ``[starts[i], ends[i])`` overlap any interval ``[excl_starts, excl_ends)``?"""
    if len(excl_starts) == 0:
        return np.zeros(len(starts), dtype=bool)
    merged_starts, merged_ends = _merged_intervals(np.asarray(excl_starts, np.int64), np.asarray(excl_ends, np.int64))
    # The first merged interval ending after the window's start is the only one that can overlap it.
    candidate = np.searchsorted(merged_ends, starts, side="right")
    inside = candidate < len(merged_starts)
    hit = np.zeros(len(starts), dtype=bool)
    hit[inside] = merged_starts[candidate[inside]] < ends[inside]
    return hit


def _match(peak_buckets: np.ndarray, ratio: int, candidate_buckets: np.ndarray, rng: np.random.Generator):
    """Indices of candidates matched to the peaks' GC buckets (see the module docstring)."""
    demand = np.bincount(peak_buckets, minlength=GC_BUCKETS + 1) * int(ratio)
    pools = [rng.permutation(np.flatnonzero(candidate_buckets == b)) for b in range(GC_BUCKETS + 1)]
    used = np.zeros(GC_BUCKETS + 1, dtype=np.int64)
    chosen = []

    def take(bucket: int, wanted: int) -> int:
        n = min(wanted, len(pools[bucket]) - used[bucket])
        chosen.append(pools[bucket][used[bucket]:used[bucket] + n])
        used[bucket] += n
        return n

    short = np.array([demand[b] - take(b, demand[b]) for b in range(GC_BUCKETS + 1)])
    for bucket in rng.permutation(np.flatnonzero(short)):
        need = short[bucket]
        for distance in range(1, GC_BUCKETS + 1):
            for neighbour in rng.permutation([bucket - distance, bucket + distance]):
                if need and 0 <= neighbour <= GC_BUCKETS:
                    need -= take(int(neighbour), need)
            if not need:
                break
        short[bucket] = need
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64), int(short.sum())


#: The official defaults: candidate bins every 1,000 bp; 2 nonpeaks per train/valid peak, 1 per test peak.
NONPEAK_STRIDE = 1000
NONPEAKS_PER_PEAK = 2
NONPEAKS_PER_TEST_PEAK = 1


def make_nonpeaks(genome, peaks, chrom_sizes, fold, *, input_length: int = CHROMBPNET_INPUT_LENGTH,
                  stride: int = NONPEAK_STRIDE, blacklist=None, ratio_trainvalid: int = NONPEAKS_PER_PEAK,
                  ratio_test: int = NONPEAKS_PER_TEST_PEAK, seed: int = 0,
                  progress: bool | None = None) -> pd.DataFrame:
    """GC-matched background regions for a fold.

    Args:
        genome: FASTA path or open ``pyfaidx.Fasta``.
        peaks: DataFrame with ``chrom, start, end, summit`` or a narrowPeak/BED path.
        chrom_sizes: chrom.sizes path or ``{chrom: length}`` (``None``: the FASTA's lengths).
        fold: ``{"train", "valid", "test"}`` chromosome lists; chromosomes outside it get no nonpeaks.
        input_length: width of each nonpeak window (bp); candidates must hold it whole.
        stride: spacing of the candidate windows along each chromosome (bp).
        blacklist: optional BED path or DataFrame (``chrom, start, end``) of regions to avoid.
        ratio_trainvalid: nonpeaks per peak on the training and validation chromosomes.
        ratio_test: nonpeaks per peak on the test chromosomes.
        seed: seed of the GC-matched draw.
        progress: show a progress bar (``None``: only on a terminal).

    Returns:
        DataFrame ``chrom, start, end, name, summit, gc, split`` (one row per nonpeak, sorted by
        chromosome and start), ready for :func:`write_narrowpeak` and :func:`extract_windows`.
    """
    if input_length <= 0 or stride <= 0:
        raise InputError(f"input_length ({input_length}) and stride ({stride}) must be positive")
    peaks = read_regions(peaks) if not isinstance(peaks, pd.DataFrame) else peaks
    if blacklist is not None and not isinstance(blacklist, pd.DataFrame):
        blacklist = read_bed(blacklist)
    with opened_genome(genome) as fasta:
        return _make_nonpeaks(fasta, genome_name(genome), peaks, chrom_sizes, fold, input_length, stride, blacklist,
                              ratio_trainvalid, ratio_test, seed, progress)


def _make_nonpeaks(genome, genome_path, peaks, chrom_sizes, fold, input_length, stride, blacklist, ratio_trainvalid,
                   ratio_test, seed, progress) -> pd.DataFrame:
    sizes = as_chrom_sizes(chrom_sizes) if chrom_sizes is not None else genome_sizes(genome)
    fasta_sizes = genome_sizes(genome)
    check_fold(fold, genome=genome, source="the fold")
    for chrom in (c for split in SPLITS for c in fold[split]):
        if chrom in sizes and sizes[chrom] != fasta_sizes[chrom]:
            raise InputError(f"{chrom} is {sizes[chrom]} bp in the chrom.sizes but {fasta_sizes[chrom]} bp in "
                             f"{genome_path}; use the chrom.sizes of this genome")
    exclude = [peaks[["chrom", "start", "end"]]]
    if blacklist is not None:
        exclude.append(blacklist[["chrom", "start", "end"]])
    exclude = pd.concat(exclude, ignore_index=True)
    pad = input_length // 2

    rng = np.random.default_rng(int(seed))
    pieces = []
    for split in SPLITS:
        chroms = [c for c in fold[split] if c in sizes]
        candidates, candidate_buckets, peak_buckets = [], [], []
        for chrom in tqdm(chroms, desc=f"nonpeak candidates ({split})", unit="chrom",
                          disable=None if progress is None else not progress):
            bins = np.arange(0, sizes[chrom] - input_length + 1, stride, dtype=np.int64)
            mine = exclude[exclude["chrom"] == chrom]
            clear = ~overlaps_any(bins, bins + input_length, mine["start"].to_numpy(np.int64) - pad,
                                  mine["end"].to_numpy(np.int64) + pad)
            bins = bins[clear]
            gc, other = window_base_counts(genome, chrom, bins, input_length)
            bins, gc = bins[other == 0], gc[other == 0]
            candidates.append(pd.DataFrame({"chrom": chrom, "start": bins, "gc": gc / input_length}))
            candidate_buckets.append(gc_bucket(gc / input_length))

            summits = np.sort(peaks.loc[peaks["chrom"] == chrom, "summit"].to_numpy(np.int64))
            starts = summits - input_length // 2
            starts = starts[(starts >= 0) & (starts + input_length <= sizes[chrom])]
            peak_gc, _ = window_base_counts(genome, chrom, starts, input_length)
            peak_buckets.append(gc_bucket(peak_gc / input_length))
        if not chroms:
            continue
        candidates = pd.concat(candidates, ignore_index=True)
        candidate_buckets, peak_buckets = np.concatenate(candidate_buckets), np.concatenate(peak_buckets)
        ratio = ratio_test if split == "test" else ratio_trainvalid
        chosen, missing = _match(peak_buckets, ratio, candidate_buckets, rng)
        if missing:
            warnings.warn(f"only {len(chosen)} of the {len(peak_buckets) * ratio} {split} nonpeaks asked for could "
                          f"be found ({len(candidates)} candidate bins on {', '.join(chroms)})", stacklevel=3)
        pieces.append(candidates.iloc[chosen].assign(split=split))
    if not pieces:
        raise InputError("no fold chromosome is in the chrom.sizes; check that they name the same genome")
    result = pd.concat(pieces, ignore_index=True)
    order = {chrom: i for i, chrom in enumerate(sizes)}
    result = result.assign(rank=result["chrom"].map(order)).sort_values(["rank", "start"], kind="stable")
    result["end"] = result["start"] + input_length
    result["summit"] = result["start"] + input_length // 2
    result["name"] = "."
    return result[["chrom", "start", "end", "name", "summit", "gc", "split"]].reset_index(drop=True)
