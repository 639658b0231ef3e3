"""The synthetic data generator: reproducible, planted motifs at summits, Tn5 signal at peaks."""

import filecmp

import numpy as np
import pyBigWig
import pyfaidx
import pytest

from data_prep import (
    InputError,
    bundled_motif_path,
    crop_windows,
    extract_windows,
    load_fold,
    make_synthetic_dataset,
    read_meme,
    read_narrowpeak,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp("a"), n_chroms=3, chrom_size=[120_000, 100_000, 80_000],
                                  n_peaks=60, seed=4)


def test_files_and_shapes(tiny):
    paths = tiny
    genome = pyfaidx.Fasta(str(paths.genome))
    assert {name: len(genome[name]) for name in genome.keys()} == {"chr1": 120_000, "chr2": 100_000, "chr3": 80_000}
    assert pyBigWig.open(str(paths.bigwig)).chroms() == {"chr1": 120_000, "chr2": 100_000, "chr3": 80_000}
    peaks = read_narrowpeak(paths.peaks)
    assert len(peaks) == 60
    assert load_fold(paths.fold) == {"train": ["chr3"], "valid": ["chr2"], "test": ["chr1"]}
    text = str(genome["chr1"][:])
    assert text.startswith("N" * 2400) and any(c.islower() for c in text)  # N runs and soft-masking


def test_same_seed_same_files(tiny, tmp_path):
    paths = tiny
    sizes = [120_000, 100_000, 80_000]
    again = make_synthetic_dataset(tmp_path / "b", n_chroms=3, chrom_size=sizes, n_peaks=60, seed=4)
    for name in ("genome", "peaks", "chrom_sizes", "fold", "bigwig"):
        assert filecmp.cmp(getattr(paths, name), getattr(again, name), shallow=False), name
    other = make_synthetic_dataset(tmp_path / "c", n_chroms=3, chrom_size=sizes, n_peaks=60, seed=5)
    assert not filecmp.cmp(paths.genome, other.genome, shallow=False)
    assert not filecmp.cmp(paths.peaks, other.peaks, shallow=False)


def test_motifs_at_summits_and_signal_at_peaks(tiny):
    paths = tiny
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


# --- sequence-dependent accessibility (planted_motif) -----------------------------------------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp("planted"), n_chroms=3, chrom_size=400_000, n_peaks=500,
                                  planted_motif="CTCF", seed=7, progress=False)


def _codes(genome, chrom):
    text = np.frombuffer(str(genome[chrom][:]).upper().encode(), dtype=np.uint8)
    lookup = np.full(256, 4, dtype=np.uint8)
    lookup[list(b"ACGT")] = [0, 1, 2, 3]
    return lookup[text]


def test_peak_totals_follow_the_number_and_strength_of_planted_sites(planted):
    import pandas as pd

    sites = pd.read_csv(planted.planted, sep="\t")
    assert len(sites) == 500 and set(sites["instances"]) == {0, 1, 2, 3, 4}
    signal = pyBigWig.open(str(planted.bigwig))
    totals = np.array([np.nansum(signal.values(c, s - 500, s + 500, numpy=True))
                       for c, s in zip(sites["chrom"], sites["summit"])])
    assert np.corrcoef(np.log1p(totals), sites["instances"])[0, 1] > 0.6
    assert np.corrcoef(totals, sites["strength"])[0, 1] > 0.6
    medians = [np.median(totals[sites["instances"] == k]) for k in range(5)]
    assert all(a < b for a, b in zip(medians, medians[1:]))  # more sites, taller peaks
    assert medians[0] < 0.2 * medians[4]


def test_planted_sites_are_in_the_fasta_where_the_table_says(planted):
    import pandas as pd

    from data_prep.motif_driven_peaks import find_motif, motif_strength

    motif = find_motif(read_meme(bundled_motif_path()), "CTCF")
    width = len(motif.probabilities)
    sites = pd.read_csv(planted.planted, sep="\t", keep_default_na=False)
    genome = pyfaidx.Fasta(str(planted.genome))
    codes = {chrom: _codes(genome, chrom) for chrom in sites["chrom"].unique()}
    checked = 0
    for row in sites.itertuples():
        if not row.offsets:
            assert row.strength == 0
            continue
        starts = row.summit + np.array([int(o) for o in str(row.offsets).split(",")])
        bases = codes[row.chrom][starts[:, None] + np.arange(width)]
        # each site reads on one strand or the other; its strength is the better of the two
        strength = np.maximum(motif_strength(bases, motif.probabilities),
                              motif_strength(3 - bases[:, ::-1], motif.probabilities))
        assert strength.sum() >= row.strength - 1e-3
        checked += 1
    assert checked > 350


def test_insertions_prefer_tn5_sites_away_from_peaks(planted):
    import pandas as pd

    from data_prep.synthetic import _bias_log_odds, _insertion_bias

    sites = pd.read_csv(planted.planted, sep="\t")
    genome = pyfaidx.Fasta(str(planted.genome))
    signal = pyBigWig.open(str(planted.bigwig))
    ratios = []
    for chrom in ("chr1", "chr2", "chr3"):
        codes = _codes(genome, chrom)
        preference = _insertion_bias(codes, _bias_log_odds(None))
        counts = np.nan_to_num(signal.values(chrom, 0, len(codes), numpy=True))
        background = codes < 4
        for summit in sites.loc[sites["chrom"] == chrom, "summit"]:
            background[max(0, summit - 1500):summit + 1500] = False
        top = background & (preference >= np.quantile(preference[background], 0.99))
        bottom = background & (preference <= np.quantile(preference[background], 0.5))
        ratios.append(counts[top].mean() / counts[bottom].mean())
    assert min(ratios) > 3.0  # the top 1 % of Tn5 scores draw several times the insertions of the bottom half


def test_an_unknown_planted_motif_is_refused(tmp_path):
    with pytest.raises(InputError, match="no motif named 'NOPE'.*CTCF"):
        make_synthetic_dataset(tmp_path, n_chroms=1, chrom_size=50_000, n_peaks=5, planted_motif="NOPE")
