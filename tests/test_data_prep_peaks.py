"""narrowPeak / BED / chrom.sizes readers and their errors."""

import pytest

from data_prep import InputError, read_bed, read_chrom_sizes, read_narrowpeak, read_regions, write_narrowpeak

GOOD = "chr1\t100\t400\tp1\t50\t.\t3.2\t5.1\t4.0\t120\n"


def test_real_narrowpeak(data_dir):
    peaks = read_narrowpeak(data_dir / "atac_mm10" / "peaks.narrowPeak")
    assert len(peaks) == 87
    first = peaks.iloc[0]  # chr17_seg1 26552 26781 ... 107
    assert (first.chrom, first.start, first.end, first.summit) == ("chr17_seg1", 26552, 26781, 26552 + 107)
    assert peaks["summit"].between(peaks["start"], peaks["end"] - 1).all()


def test_bed_midpoint_and_autodetect(tmp_path):
    bed = tmp_path / "regions.bed"
    bed.write_text("track name=x\nchr1\t100\t301\nchr2\t10\t20\tname\t0\t+\n")
    regions = read_bed(bed)
    assert regions["summit"].tolist() == [200, 15]
    assert regions["name"].tolist() == [".", "name"]
    narrow = tmp_path / "peaks.txt"
    narrow.write_text(GOOD)
    assert read_regions(narrow)["summit"].tolist() == [220]
    assert read_regions(bed)["summit"].tolist() == [200, 15]


def test_write_narrowpeak_round_trip(tmp_path, data_dir):
    peaks = read_narrowpeak(data_dir / "atac_mm10" / "peaks.narrowPeak")
    out = write_narrowpeak(peaks, tmp_path / "copy.narrowPeak")
    assert out.read_text() == (data_dir / "atac_mm10" / "peaks.narrowPeak").read_text()
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("line, message", [
    ("chr1\t100\t400\tp1\t50\t.\n", "line 2: found 6 tab-separated column"),
    ("chr1 100 400 p1 50 . 3.2 5.1 4.0 120\n", "space-separated"),
    ("chr1\t1e2\t400\tp1\t50\t.\t3.2\t5.1\t4.0\t120\n", "line 2: start .*'1e2', not an integer"),
    ("chr1\t100\t400\tp1\t50\t.\t3.2\t5.1\t4.0\t-1\n", "line 2: summit offset -1 is negative"),
    ("chr1\t100\t400\tp1\t50\t.\t3.2\t5.1\t4.0\t300\n", "line 2: summit offset 300 is past the end"),
    ("chr1\t-5\t400\tp1\t50\t.\t3.2\t5.1\t4.0\t3\n", "line 2: start -5 is negative"),
    ("chr1\t400\t400\tp1\t50\t.\t3.2\t5.1\t4.0\t0\n", "line 2: end 400 is not after start 400"),
])
def test_narrowpeak_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.narrowPeak"
    path.write_text(GOOD + line)
    with pytest.raises(InputError, match=message) as error:
        read_narrowpeak(path)
    assert str(path) in str(error.value)


def test_bed_and_chrom_sizes_errors(tmp_path):
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t100\t200\nchr1\t100\n")
    with pytest.raises(InputError, match=r"bad.bed, line 2: found 2 tab-separated column"):
        read_bed(bed)
    bed.write_text("chr1\t100\tend\n")
    with pytest.raises(InputError, match=r"line 1: end .*'end', not an integer"):
        read_bed(bed)
    empty = tmp_path / "empty.narrowPeak"
    empty.write_text("# nothing\n")
    with pytest.raises(InputError, match="has no regions"):
        read_narrowpeak(empty)
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr1\t1000\nchr2\tabc\n")
    with pytest.raises(InputError, match=r"chrom.sizes, line 2: length 'abc' of chr2"):
        read_chrom_sizes(sizes)
    sizes.write_text("chr1\t1000\nchr1\t1000\n")
    with pytest.raises(InputError, match="line 2: chromosome chr1 is listed twice"):
        read_chrom_sizes(sizes)


def test_real_chrom_sizes(data_dir):
    assert read_chrom_sizes(data_dir / "atac_mm10" / "chrom.sizes") == {
        "chr17_seg1": 200000, "chr17_seg2": 200000, "chr17_seg3": 200000, "chr17_seg4": 200000, "chr17_seg5": 200001}
