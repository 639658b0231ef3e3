"""GC-matched background regions (prep nonpeaks)."""

import numpy as np
import pyfaidx
import pytest

from data_prep import (
    edge_filter,
    load_fold,
    make_nonpeaks,
    make_synthetic_dataset,
    read_chrom_sizes,
    read_narrowpeak,
    split_of,
    write_narrowpeak,
)
from data_prep.nonpeaks import gc_bucket


def gc_of(genome, chrom, start, width=2114):
    seq = str(genome[chrom][start:start + width]).upper()
    return (seq.count("G") + seq.count("C")) / width, seq


@pytest.fixture(scope="module")
def atac_fold0(atac):
    """The ATAC fixture's folder, its peaks and fold 0."""
    return atac, read_narrowpeak(atac / "peaks.narrowPeak"), load_fold(atac / "folds" / "fold_0.json")


def test_real_data_nonpeaks(atac_fold0, tmp_path):
    root, peaks, fold = atac_fold0
    nonpeaks = make_nonpeaks(root / "genome.fa", peaks, root / "chrom.sizes", fold, seed=0)
    assert (nonpeaks["start"] % 1000 == 0).all() and (nonpeaks["end"] - nonpeaks["start"] == 2114).all()
    assert (nonpeaks["summit"] == nonpeaks["start"] + 1057).all()
    assert not nonpeaks.duplicated(["chrom", "start"]).any()
    assert (nonpeaks["split"] == split_of(nonpeaks, fold)).all()

    # ratio: 2 per train/valid peak and 1 per test peak (peaks whose 2,114 bp window fits)
    fits = edge_filter(peaks, read_chrom_sizes(root / "chrom.sizes"), 2114)
    peak_split = split_of(peaks, fold)[fits]
    assert nonpeaks["split"].value_counts().to_dict() == {
        "train": 2 * (peak_split == "train").sum(), "valid": 2 * (peak_split == "valid").sum(),
        "test": (peak_split == "test").sum()}

    # no overlap with any peak padded by 1,057 bp on both sides (brute force)
    for _, region in nonpeaks.iterrows():
        same = peaks[peaks.chrom == region.chrom]
        assert not ((region.start < same.end + 1057) & (region.end > same.start - 1057)).any()

    # GC column is the bin's GC; the background's GC distribution follows the peaks'
    genome = pyfaidx.Fasta(str(root / "genome.fa"))
    direct = [gc_of(genome, c, s)[0] for c, s in zip(nonpeaks.chrom, nonpeaks.start)]
    np.testing.assert_allclose(nonpeaks["gc"], direct)
    peak_gc = [gc_of(genome, c, s - 1057)[0] for c, s in zip(peaks.chrom[fits], peaks.summit[fits])]
    assert abs(np.mean(peak_gc) - np.mean(direct)) < 0.02
    assert abs(np.median(peak_gc) - np.median(direct)) < 0.02

    path = write_narrowpeak(nonpeaks, tmp_path / "nonpeaks.bed")
    back = read_narrowpeak(path)
    assert (back["summit"] - back["start"] == 1057).all() and len(back) == len(nonpeaks)
    assert make_nonpeaks(root / "genome.fa", peaks, root / "chrom.sizes", fold, seed=0).equals(nonpeaks)
    assert not make_nonpeaks(root / "genome.fa", peaks, root / "chrom.sizes", fold, seed=1).equals(nonpeaks)


def test_blacklist_and_shortage_warning(atac_fold0, tmp_path):
    root, peaks, fold = atac_fold0
    blacklist = tmp_path / "blacklist.bed"
    blacklist.write_text("chr17_seg3\t100000\t150000\n")
    nonpeaks = make_nonpeaks(root / "genome.fa", peaks, root / "chrom.sizes", fold, blacklist=blacklist, seed=0)
    seg3 = nonpeaks[nonpeaks.chrom == "chr17_seg3"]
    assert len(seg3) and not ((seg3.start < 150000 + 1057) & (seg3.end > 100000 - 1057)).any()
    with pytest.warns(UserWarning, match=r"only \d+ of the \d+ test nonpeaks"):
        short = make_nonpeaks(root / "genome.fa", peaks, root / "chrom.sizes", fold, ratio_test=50)
    assert (short["split"] == "test").sum() > 100


def test_exact_gc_match_and_no_n_on_synthetic_genome(tmp_path):
    data = make_synthetic_dataset(tmp_path, n_chroms=3, chrom_size=400_000, n_peaks=60, seed=2)
    peaks, fold = read_narrowpeak(data.peaks), load_fold(data.fold)
    nonpeaks = make_nonpeaks(data.genome, peaks, data.chrom_sizes, fold, seed=0)
    genome = pyfaidx.Fasta(str(data.genome))
    assert all(set(gc_of(genome, c, s)[1]) <= set("ACGT") for c, s in zip(nonpeaks.chrom, nonpeaks.start))
    assert nonpeaks.start.min() >= 0 and (nonpeaks.chrom == "chr1").any()
    peak_split = split_of(peaks, fold)
    for split, ratio in (("train", 2), ("valid", 2), ("test", 1)):
        mine = peaks[peak_split == split]
        peak_gc = [gc_of(genome, c, s - 1057)[0] for c, s in zip(mine.chrom, mine.summit)]
        wanted = np.sort(np.repeat(gc_bucket(np.array(peak_gc)), ratio))
        # enough candidates in every bucket: the GC buckets match one for one
        np.testing.assert_array_equal(np.sort(gc_bucket(nonpeaks.loc[nonpeaks.split == split, "gc"])), wanted)
