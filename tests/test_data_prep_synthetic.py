"""The synthetic data generator: reproducible, planted motifs at summits, Tn5 signal at peaks."""

import filecmp
import time

import numpy as np
import pyBigWig
import pyfaidx
import pytest

from data_prep import (InputError, bundled_motif_path, crop_windows, extract_windows, load_fold, make_synthetic_dataset,
                       read_meme, read_narrowpeak)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    began = time.perf_counter()
    paths = make_synthetic_dataset(tmp_path_factory.mktemp("a"), n_chroms=3, chrom_size=[120_000, 100_000, 80_000],
                                   n_peaks=60, seed=4)
    return paths, time.perf_counter() - began


def test_files_shapes_and_speed(tiny):
    paths, seconds = tiny
    assert seconds < 2.0
    genome = pyfaidx.Fasta(str(paths.genome))
    assert {name: len(genome[name]) for name in genome.keys()} == {"chr1": 120_000, "chr2": 100_000, "chr3": 80_000}
    assert pyBigWig.open(str(paths.bigwig)).chroms() == {"chr1": 120_000, "chr2": 100_000, "chr3": 80_000}
    peaks = read_narrowpeak(paths.peaks)
    assert len(peaks) == 60
    assert load_fold(paths.fold) == {"train": ["chr3"], "valid": ["chr2"], "test": ["chr1"]}
    text = str(genome["chr1"][:])
    assert text.startswith("N" * 2400) and any(c.islower() for c in text)  # N runs and soft-masking


def test_same_seed_same_files(tiny, tmp_path):
    paths, _ = tiny
    sizes = [120_000, 100_000, 80_000]
    again = make_synthetic_dataset(tmp_path / "b", n_chroms=3, chrom_size=sizes, n_peaks=60, seed=4)
    for name in ("genome", "peaks", "chrom_sizes", "fold", "bigwig"):
        assert filecmp.cmp(getattr(paths, name), getattr(again, name), shallow=False), name
    other = make_synthetic_dataset(tmp_path / "c", n_chroms=3, chrom_size=sizes, n_peaks=60, seed=5)
    assert not filecmp.cmp(paths.genome, other.genome, shallow=False)
    assert not filecmp.cmp(paths.peaks, other.peaks, shallow=False)


def test_motifs_at_summits_and_signal_at_peaks(tiny):
    paths, _ = tiny
    motifs = read_meme(bundled_motif_path())
    windows = extract_windows(paths.peaks, paths.genome, paths.bigwig, 2114, 1000)
    assert len(windows.dropped) == 0

    def best_match(onehot):
        """Highest log-odds score of any bundled motif (either strand) over the window."""
        best = -np.inf
        for motif in motifs:
            log_odds = np.log(np.clip(motif.probabilities, 1e-3, None) / 0.25)
            for matrix in (log_odds, log_odds[::-1, ::-1]):
                width = len(matrix)
                scores = [np.sum(onehot[i:i + width] * matrix) for i in range(len(onehot) - width + 1)]
                best = max(best, max(scores) / width)
        return best

    centre = [best_match(seq[1057 - 12:1057 + 12].astype(float)) for seq in windows.sequences[:20]]
    away = [best_match(seq[100:124].astype(float)) for seq in windows.sequences[:20]]
    assert np.median(centre) > np.median(away) + 0.5
    totals = crop_windows(windows, 2114, 1000).counts.sum(axis=1)
    background = extract_windows(windows.regions.assign(summit=windows.regions.summit + 30_000).query(
        "summit < 75_000"), paths.genome, paths.bigwig, 2114, 1000)
    assert np.median(totals) > 5 * np.median(background.counts.sum(axis=1) + 1)


def test_bad_settings(tmp_path):
    with pytest.raises(InputError, match="n_chroms is 25"):
        make_synthetic_dataset(tmp_path, n_chroms=25)
    with pytest.raises(InputError, match="at least 20,000 bp"):
        make_synthetic_dataset(tmp_path, n_chroms=2, chrom_size=1000)
