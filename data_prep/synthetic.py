"""A synthetic ATAC-seq data set for scale tests and benchmarks, reproducible from a seed.

What is simulated, per chromosome (hg38 names chr1..chr22, chrX, chrY):

- sequence: i.i.d. bases whose GC fraction varies in 5 kb segments (mean ``gc_mean``, sd 0.06),
  about 10 % soft-masked (lower case) in 300 bp stretches, and N runs at both chromosome ends;
- peaks: summits placed uniformly away from the ends, a motif instance sampled from a MEME
  matrix (random motif, random strand) centred on each summit, peak bounds 75-400 bp either side;
- Tn5 insertions: Poisson counts with rate = enzyme bias x (background + peak signal), where the
  bias is exp(0.5 x standardised log-odds score of the ChromBPNet TN5_1 motif centred on each
  base) and the peak signal is a Laplace bump (scale 120 bp) around the summit with a footprint
  dip over the motif, with a log-normal height per peak.

With ``planted_motif`` (e.g. ``"CTCF"``) accessibility depends on sequence instead: each peak holds
0 to ``max_instances`` sampled instances of that one motif near its summit, and its height grows
with their number and match strength (:mod:`data_prep.motif_driven_peaks`); what was planted is
written to ``planted_sites.tsv``.

Files: ``genome.fa`` (+ ``.fai`` by pyfaidx), ``chrom.sizes``, ``tn5_insertions.bw`` (per-base
counts), ``peaks.narrowPeak`` (column 10 = summit offset) and ``fold.json`` (with all 24
chromosomes: the bundled hg38 fold 0; otherwise test = first chromosome, valid = second).
Every file is written under a temporary name and renamed.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Sequence

import numpy as np
import pandas as pd
import pyBigWig
import pyfaidx
from tqdm.auto import tqdm

from data_prep.errors import InputError
from data_prep.folds import load_fold, make_splits, write_fold
from data_prep.motif_driven_peaks import find_motif, plant_sites
from data_prep.motifs import bundled_motif_path, read_meme
from data_prep.outputs.atomic import atomic_path, write_text_atomic
from data_prep.peaks import write_narrowpeak

HG38_CHROMOSOMES = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
_SEGMENT_BP = 5000
_MASK_BP = 300
_PEAK_REACH_BP = 600       # the peak signal is computed within +/- this of the summit
_PEAK_SCALE_BP = 120.0
_FOOTPRINT_BP = 8.0
_BIAS_STRENGTH = 0.5
_PLANTED_SPACING_BP = 500  # planted sites lie within +/-150 bp of a summit


@dataclasses.dataclass(frozen=True)
class SyntheticDataset:
    """Paths of a synthetic data set (``fold`` is ``None`` with fewer than 3 chromosomes)."""

    genome: pathlib.Path
    chrom_sizes: pathlib.Path
    bigwig: pathlib.Path
    peaks: pathlib.Path
    fold: pathlib.Path | None
    planted: pathlib.Path | None = None


def _bias_log_odds(bias_meme: str | os.PathLike | None) -> np.ndarray:
    """(width, 5) log-odds table of the Tn5 bias motif; column 4 (N) scores 0."""
    motifs = read_meme(bias_meme or bundled_motif_path("chrombpnet_bias_motifs.meme"))
    chosen = next((m for m in motifs if m.identifier == "TN5_1"), motifs[0])
    table = np.zeros((len(chosen.probabilities), 5), dtype=np.float32)
    table[:, :4] = np.log(np.clip(chosen.probabilities, 1e-3, None) / 0.25)
    return table


def _sequence(rng: np.random.Generator, size: int, gc_mean: float) -> np.ndarray:
    """Base indices 0..3 (ACGT) with a GC fraction that changes every 5 kb."""
    segment_gc = np.clip(rng.normal(gc_mean, 0.06, size // _SEGMENT_BP + 1), 0.2, 0.7).astype(np.float32)
    gc = np.repeat(segment_gc, _SEGMENT_BP)[:size]
    draw = rng.random(size, dtype=np.float32)
    # draw < gc/2 -> C, < gc -> G, < gc + (1-gc)/2 -> A, else T
    index = np.where(draw < gc, np.where(draw < gc / 2, 1, 2), np.where(draw < (1 + gc) / 2, 0, 3))
    return index.astype(np.uint8)


def _plant_motifs(rng, index: np.ndarray, summits: np.ndarray, motifs) -> np.ndarray:
    """Write one sampled motif instance centred on each summit; return each peak's motif width."""
    choice = rng.integers(len(motifs), size=len(summits))
    widths = np.zeros(len(summits), dtype=np.int64)
    for number, motif in enumerate(motifs):
        peaks = np.flatnonzero(choice == number)
        if not len(peaks):
            continue
        width = len(motif.probabilities)
        cumulative = np.cumsum(motif.probabilities, axis=1)
        draws = rng.random((len(peaks), width, 1))
        bases = np.minimum((draws > cumulative[None]).sum(axis=2), 3)
        reverse = rng.random(len(peaks)) < 0.5
        bases[reverse] = 3 - bases[reverse, ::-1]
        index[(summits[peaks] - width // 2)[:, None] + np.arange(width)] = bases
        widths[peaks] = width
    return widths


def _spaced_summits(rng, low: int, high: int, count: int, chrom: str) -> np.ndarray:
    """``count`` sorted summits in ``[low, high)``, spaced apart.

    ``count`` sorted summits in ``[low, high)``, at least ``_PLANTED_SPACING_BP`` apart, so that no peak's planted sites
    overwrite another's.
    """
    slots = (high - low) // _PLANTED_SPACING_BP
    if count > slots:
        raise InputError(f"{count} peaks do not fit on {chrom} with planted motifs (at most {slots}, one per "
                         f"{_PLANTED_SPACING_BP} bp); ask for fewer peaks or longer chromosomes")
    chosen = np.sort(rng.choice(slots, size=count, replace=False))
    return low + chosen * _PLANTED_SPACING_BP + rng.integers(0, _PLANTED_SPACING_BP // 4, size=count)


def _insertion_bias(index: np.ndarray, log_odds: np.ndarray, strength: float = _BIAS_STRENGTH) -> np.ndarray:
    """Relative Tn5 preference of each base: exp(strength x standardised motif score centred there)."""
    width = len(log_odds)
    score = np.zeros(len(index), dtype=np.float32)
    valid = len(index) - width + 1
    for offset in range(width):
        score[width // 2:width // 2 + valid] += log_odds[offset][index[offset:offset + valid]]
    score -= score.mean()
    score /= score.std() + 1e-6
    return np.exp(strength * np.clip(score, -4, 4))


def _peak_signal(size: int, summits: np.ndarray, heights: np.ndarray, motif_widths: np.ndarray) -> np.ndarray:
    """Expected insertions per base from the peaks (before the enzyme bias)."""
    distance = np.arange(-_PEAK_REACH_BP, _PEAK_REACH_BP + 1)
    shape = np.exp(-np.abs(distance) / _PEAK_SCALE_BP)
    positions = summits[:, None] + distance
    footprint = 1 - 0.8 * np.exp(-(distance[None, :] / np.maximum(motif_widths[:, None] / 2, _FOOTPRINT_BP)) ** 2)
    weights = heights[:, None] * shape[None, :] * footprint
    inside = (positions >= 0) & (positions < size)
    return np.bincount(positions[inside], weights=weights[inside], minlength=size)[:size]


def _write_fasta_record(handle, name: str, codes: np.ndarray, line_width: int = 60) -> None:
    handle.write(f">{name}\n".encode())
    full = len(codes) // line_width
    block = np.empty((full, line_width + 1), dtype=np.uint8)
    block[:, :line_width] = codes[:full * line_width].reshape(full, line_width)
    block[:, line_width] = ord("\n")
    handle.write(block.tobytes())
    if len(codes) > full * line_width:
        handle.write(codes[full * line_width:].tobytes() + b"\n")


def make_synthetic_dataset(out_dir: str | os.PathLike, *, n_chroms: int = 24,
                           chrom_size: int | Sequence[int] = 1_000_000,
                           n_peaks: int = 2000, motifs_meme: str | os.PathLike | None = None,
                           bias_meme: str | os.PathLike | None = None, seed: int = 0, gc_mean: float = 0.41,
                           background_rate: float = 0.01, peak_height: float = 1.0,
                           planted_motif: str | None = None, max_instances: int = 4,
                           bias_strength: float = _BIAS_STRENGTH, progress: bool | None = None) -> SyntheticDataset:
    """Write a synthetic genome, Tn5 insertion bigWig, peaks and fold into ``out_dir``.

    Args:
        out_dir: the folder to write (created).
        n_chroms: how many of the hg38 chromosome names to use (1-24, in order chr1..chr22, chrX, chrY).
        chrom_size: length of every chromosome, or one length per chromosome (each at least 20 kb).
        n_peaks: peaks in total, spread over chromosomes in proportion to their length.
        motifs_meme: MEME file of the motifs planted at summits (default: the bundled JASPAR subset).
        bias_meme: MEME file whose TN5_1 (else first) matrix sets the insertion bias (default: bundled).
        seed: seed of everything drawn.
        gc_mean: mean GC content of the genome.
        background_rate: mean insertions per base off peaks (before the bias).
        peak_height: the median peak's rate at its summit (before the bias); with ``planted_motif``, the
            summit rate of a peak with one consensus site.
        planted_motif: name or identifier of a motif in ``motifs_meme`` (e.g. ``"CTCF"``, ``"GATA1"``):
            peak heights then follow its planted instances (0 to ``max_instances`` per peak).
        max_instances: most planted instances per peak.
        bias_strength: the Tn5 preference is exp(bias_strength x standardised TN5_1 score).
        progress: show a progress bar (``None``: only on a terminal).
    """
    if not 1 <= n_chroms <= len(HG38_CHROMOSOMES):
        raise InputError(f"n_chroms is {n_chroms}; choose 1 to {len(HG38_CHROMOSOMES)} (hg38 chromosome names)")
    sizes = [int(chrom_size)] * n_chroms if np.isscalar(chrom_size) else [int(s) for s in chrom_size]
    if len(sizes) != n_chroms or min(sizes) < 20_000:
        raise InputError(f"chrom_size must be one length or {n_chroms} lengths, each at least 20,000 bp; "
                         f"got {chrom_size}")
    names = HG38_CHROMOSOMES[:n_chroms]
    motifs = read_meme(motifs_meme or bundled_motif_path())
    planted = find_motif(motifs, planted_motif) if planted_motif else None
    log_odds = _bias_log_odds(bias_meme)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    peaks_per_chrom = np.random.default_rng(seed).multinomial(n_peaks, np.asarray(sizes) / sum(sizes))

    genome_path, bigwig_path = out_dir / "genome.fa", out_dir / "tn5_insertions.bw"
    peak_tables, site_tables = [], []
    with atomic_path(genome_path) as fasta_tmp, atomic_path(bigwig_path) as bigwig_tmp:
        bigwig = pyBigWig.open(str(bigwig_tmp), "w")
        bigwig.addHeader(list(zip(names, sizes)), maxZooms=0)
        with open(fasta_tmp, "wb") as fasta:
            chromosomes = tqdm(list(zip(names, sizes)), desc="synthetic genome", unit="chrom",
                               disable=None if progress is None else not progress)
            for number, (name, size) in enumerate(chromosomes):
                rng = np.random.default_rng([seed, number])
                index = _sequence(rng, size, gc_mean)
                end_run = min(10_000, size // 50)
                low, high = end_run + 2_000, size - end_run - 2_000
                if planted is None:
                    summits = np.sort(rng.integers(low, high, size=peaks_per_chrom[number]))
                else:
                    summits = _spaced_summits(rng, low, high, peaks_per_chrom[number], name)
                if planted is None:
                    motif_widths = _plant_motifs(rng, index, summits, motifs)
                else:
                    sites = plant_sites(rng, index, summits, planted, max_instances=max_instances,
                                        peak_height=peak_height)
                    motif_widths = np.where(sites.instances > 0, len(planted.probabilities), 0)
                index[:end_run] = 4
                index[size - end_run:] = 4
                if planted is None:
                    heights = peak_height * rng.lognormal(0.0, 0.7, size=len(summits))
                else:
                    heights = sites.height
                    site_tables.append(pd.DataFrame({
                        "name": [f"{name}_peak_{i + 1}" for i in range(len(summits))], "chrom": name,
                        "summit": summits, "instances": sites.instances, "strength": np.round(sites.strength, 4),
                        "height": np.round(heights, 4),
                        "offsets": [",".join(map(str, o)) for o in sites.offsets]}))
                expected = background_rate + _peak_signal(size, summits, heights, motif_widths)
                rate = _insertion_bias(index, log_odds, bias_strength) * expected
                rate[index == 4] = 0.0
                counts = rng.poisson(rate)
                where = np.flatnonzero(counts)
                bigwig.addEntries(name, where.astype(np.int64), values=counts[where].astype(np.float64), span=1)

                codes = _LETTERS[index]
                masked_starts = rng.integers(0, size - _MASK_BP, size=size // (10 * _MASK_BP))
                masked = (masked_starts[:, None] + np.arange(_MASK_BP)).ravel()
                masked = masked[index[masked] < 4]
                codes[masked] |= 0x20  # lower case = soft-masked
                _write_fasta_record(fasta, name, codes)

                left = rng.integers(75, 400, size=len(summits))
                right = rng.integers(75, 400, size=len(summits))
                peak_tables.append(pd.DataFrame({
                    "chrom": name, "start": summits - left, "end": summits + right + 1,
                    "name": [f"{name}_peak_{i + 1}" for i in range(len(summits))],
                    "score": np.minimum(1000, (100 * heights).astype(int)).astype(str), "strand": ".",
                    "signal_value": [f"{h:.3f}" for h in heights], "p_value": "-1", "q_value": "-1",
                    "summit": summits}))
        bigwig.close()
        pyfaidx.Faidx(str(fasta_tmp)).close()  # builds <tmp>.fai
        os.replace(str(fasta_tmp) + ".fai", str(genome_path) + ".fai")

    write_text_atomic(out_dir / "chrom.sizes", "".join(f"{n}\t{s}\n" for n, s in zip(names, sizes)))
    peaks_path = write_narrowpeak(pd.concat(peak_tables, ignore_index=True), out_dir / "peaks.narrowPeak")
    fold_path = None
    if n_chroms == len(HG38_CHROMOSOMES):
        fold_path = write_fold(out_dir / "fold.json", load_fold("hg38", 0))
    elif n_chroms >= 3:
        fold_path = write_fold(out_dir / "fold.json", make_splits(dict(zip(names, sizes)), [names[0]], [names[1]]))
    planted_path = None
    if planted is not None:
        planted_path = write_text_atomic(out_dir / "planted_sites.tsv",
                                         pd.concat(site_tables, ignore_index=True).to_csv(sep="\t", index=False))
    return SyntheticDataset(genome_path, out_dir / "chrom.sizes", bigwig_path, peaks_path, fold_path, planted_path)
