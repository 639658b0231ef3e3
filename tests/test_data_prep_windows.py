"""extract_windows against direct pyfaidx / pyBigWig reads of the real mouse ATAC data."""

import numpy as np
import pandas as pd
import pyBigWig
import pyfaidx
import pytest

from data_prep import InputError, crop_windows, extract_windows, one_hot_encode, read_narrowpeak


@pytest.fixture(scope="module")
def peaks(atac):
    return read_narrowpeak(atac / "peaks.narrowPeak")


def direct_reads(atac, regions, seq_width, count_width):
    """The reference: one pyfaidx slice (upper-cased) and one bw.values per region."""
    genome = pyfaidx.Fasta(str(atac / "genome.fa"))
    bigwig = pyBigWig.open(str(atac / "tn5_insertions.bw"))
    seqs, counts = [], []
    for _, region in regions.iterrows():
        summit = region["summit"]
        seqs.append(str(genome[region["chrom"]][summit - seq_width // 2:summit - seq_width // 2 + seq_width]))
        counts.append(np.nan_to_num(bigwig.values(region["chrom"], summit - count_width // 2,
                                                  summit - count_width // 2 + count_width)))
    return seqs, np.array(counts)


@pytest.mark.parametrize("max_jitter", [0, 500])
def test_windows_equal_direct_reads(atac, peaks, max_jitter):
    windows = extract_windows(peaks, atac / "genome.fa", atac / "tn5_insertions.bw", 2114, 1000, max_jitter)
    seq_width, count_width = 2114 + 2 * max_jitter, 1000 + 2 * max_jitter
    assert windows.sequences.shape == (len(windows.regions), seq_width, 4) and windows.sequences.dtype == np.uint8
    assert windows.counts.shape == (len(windows.regions), count_width) and windows.counts.dtype == np.float32
    assert len(windows.regions) + len(windows.dropped) == 87
    seqs, counts = direct_reads(atac, windows.regions, seq_width, count_width)
    assert any(any(base.islower() for base in seq) for seq in seqs)  # soft-masked bases are exercised
    np.testing.assert_array_equal(windows.sequences, one_hot_encode([s.upper() for s in seqs]))
    np.testing.assert_array_equal(windows.counts, counts.astype(np.float32))
    assert windows.counts.sum() > 1000  # real insertions, not an all-zero read


def test_summit_centring(atac, peaks):
    windows = extract_windows(peaks, atac / "genome.fa", atac / "tn5_insertions.bw", 2114, 1000)
    bigwig = pyBigWig.open(str(atac / "tn5_insertions.bw"))
    genome = pyfaidx.Fasta(str(atac / "genome.fa"), sequence_always_upper=True)
    for row, region in windows.regions.iterrows():
        # Base 1057 of the input window and base 500 of the output window are the summit.
        summit_base = one_hot_encode(str(genome[region.chrom][region.summit]))[0]
        np.testing.assert_array_equal(windows.sequences[row, 1057], summit_base)
        summit_count = np.nan_to_num(bigwig.values(region.chrom, region.summit, region.summit + 1)[0])
        assert windows.counts[row, 500] == summit_count
    first = peaks.iloc[0]
    assert first.summit == 26552 + 107 and windows.regions.iloc[0].summit == first.summit


def test_edge_regions_dropped_with_reason(atac, peaks):
    windows = extract_windows(peaks, atac / "genome.fa", atac / "tn5_insertions.bw", 2114, 1000, 500)
    near_end = (peaks.summit < 1557) | (peaks.summit + 1557 > 200000)
    assert sorted(windows.dropped["name"]) == sorted(peaks.loc[near_end, "name"])
    assert len(windows.dropped) == 5
    assert windows.dropped["reason"].str.contains("runs off the chromosome end").all()
    # With no jitter margin fewer regions reach past an end.
    assert len(extract_windows(peaks, atac / "genome.fa", atac / "tn5_insertions.bw", 2114, 1000).dropped) < 5


def test_crop_equals_direct_narrow_extraction(atac, peaks):
    wide = extract_windows(peaks, atac / "genome.fa", atac / "tn5_insertions.bw", 2114, 1000, 500)
    narrow = extract_windows(wide.regions, atac / "genome.fa", atac / "tn5_insertions.bw", 2114, 1000, 0)
    cropped = crop_windows(wide, 2114, 1000)
    np.testing.assert_array_equal(cropped.sequences, narrow.sequences)
    np.testing.assert_array_equal(cropped.counts, narrow.counts)


def test_open_objects_agct_and_sequence_only(atac):
    regions = pd.DataFrame({"chrom": ["chr17_seg3", "chr17_seg1"], "start": [5000, 90000], "end": [5201, 90400]})
    genome = pyfaidx.Fasta(str(atac / "genome.fa"))
    windows = extract_windows(regions, genome, pyBigWig.open(str(atac / "tn5_insertions.bw")), 200, 100,
                              alphabet="AGCT")
    assert windows.regions["summit"].tolist() == [5100, 90200]  # BED-like rows centre on the midpoint
    expected = one_hot_encode(str(genome["chr17_seg1"][90100:90300]).upper(), alphabet="AGCT")
    np.testing.assert_array_equal(windows.sequences[1], expected)
    assert extract_windows(regions, genome, None, 200, 100).counts is None


def test_wrong_chromosomes_and_mismatched_bigwig(atac, tmp_path):
    regions = pd.DataFrame({"chrom": ["chr17_seg1", "chr1"], "summit": [5000, 5000]})
    with pytest.raises(InputError, match="1 region.* lie on chr1, which .*genome.fa does not have"):
        extract_windows(regions, atac / "genome.fa", atac / "tn5_insertions.bw")
    other = tmp_path / "other.bw"
    bigwig = pyBigWig.open(str(other), "w")
    bigwig.addHeader([("chr17_seg1", 250000)])
    bigwig.addEntries(["chr17_seg1"], [10], ends=[11], values=[1.0])
    bigwig.close()
    with pytest.raises(InputError, match="chr17_seg1 is 200000 bp in .*genome.fa but 250000 bp in .*other.bw"):
        extract_windows(regions[:1], atac / "genome.fa", other)
    with pytest.raises(InputError, match="cannot be read as a bigWig"):
        extract_windows(regions[:1], atac / "genome.fa", atac / "genome.fa")


def test_missing_files(atac, tmp_path):
    regions = pd.DataFrame({"chrom": ["chr17_seg1"], "summit": [5000]})
    with pytest.raises(InputError, match="genome FASTA .*missing.fa does not exist"):
        extract_windows(regions, tmp_path / "missing.fa", atac / "tn5_insertions.bw")
    with pytest.raises(InputError, match="bigWig .*missing.bw does not exist"):
        extract_windows(regions, atac / "genome.fa", tmp_path / "missing.bw")
    with pytest.raises(InputError, match="region file .*missing.narrowPeak does not exist"):
        extract_windows(tmp_path / "missing.narrowPeak", atac / "genome.fa", atac / "tn5_insertions.bw")
