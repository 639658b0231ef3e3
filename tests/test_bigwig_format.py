"""The numpy/zlib bigWig writer (data_prep.reads.bigwig_format) read back by pyBigWig (libBigWig).

The same values and intervals as pyBigWig's own writer, header totals, chromosome order, deep B+ and R trees,
zoom summaries equal to the exact ones on their bins, and a write that fails leaves nothing behind.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pyBigWig
import pytest

from data_prep.reads import bigwig_format
from data_prep.reads.bigwig_writing import write_counts_bigwig

REPO = pathlib.Path(__file__).resolve().parents[1]


def counts_table(seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    sizes = {"chr2": 300_000, "chr1": 500_000, "chrM": 16_569, "chr10": 1_000, "chrUn_empty": 5_000}
    data = {}
    for chrom, size in sizes.items():
        if chrom == "chrUn_empty":
            continue
        positions = np.unique(rng.integers(0, size, size // 4)).astype(np.uint32)
        data[chrom] = np.stack([positions, rng.integers(1, 60, len(positions)).astype(np.uint32)])
    return sizes, data


def test_the_same_bigwig_as_pybigwig_writes(tmp_path):
    sizes, data = counts_table()
    write_counts_bigwig(tmp_path / "ours.bw", sizes, data.get)
    with pyBigWig.open(str(tmp_path / "lib.bw"), "w") as lib:
        lib.addHeader(list(sizes.items()), maxZooms=10)
        for chrom, counts in data.items():
            lib.addEntries(chrom, counts[0], values=counts[1].astype(np.float32), span=1)
    with pyBigWig.open(str(tmp_path / "ours.bw")) as ours, pyBigWig.open(str(tmp_path / "lib.bw")) as lib:
        assert list(ours.chroms().items()) == list(sizes.items())  # the genome's order, not sorted
        header = ours.header()
        assert {k: header[k] for k in ("nBasesCovered", "minVal", "maxVal", "sumData", "sumSquared")} == \
            {k: lib.header()[k] for k in ("nBasesCovered", "minVal", "maxVal", "sumData", "sumSquared")}
        assert header["nBasesCovered"] == sum(c.shape[1] for c in data.values()) and header["nLevels"] > 4
        for chrom, size in sizes.items():
            assert np.array_equal(np.nan_to_num(ours.values(chrom, 0, size, numpy=True)),
                                  np.nan_to_num(lib.values(chrom, 0, size, numpy=True)))
            assert ours.intervals(chrom) == lib.intervals(chrom)


def test_zoom_summaries_equal_the_exact_ones_on_their_bins(tmp_path):
    sizes, data = counts_table(1)
    write_counts_bigwig(tmp_path / "z.bw", sizes, data.get)
    # a quarter of the bases counted: the first level summarises 40 bases (10 has more summaries than items / 8)
    reductions = bigwig_format.zoom_reductions(sizes, data.get, 10)
    assert reductions[:3] == [40, 160, 640] and all(b == 4 * a for a, b in zip(reductions, reductions[1:]))
    with pyBigWig.open(str(tmp_path / "z.bw")) as bigwig:
        assert bigwig.header()["nLevels"] == len(reductions)
        for chrom in ("chr1", "chr2"):
            for level in range(3):  # query bins of 4 x a level's span, which the reader answers from that level
                bins = 8
                span = bins * 4 * reductions[level]
                for kind in ("mean", "max", "min", "coverage"):
                    zoomed = np.array(bigwig.stats(chrom, 0, span, type=kind, nBins=bins), dtype=float)
                    exact = np.array(bigwig.stats(chrom, 0, span, type=kind, nBins=bins, exact=True), dtype=float)
                    assert np.allclose(zoomed, exact, rtol=1e-5, equal_nan=True), (chrom, span, kind)


def test_deep_trees_read_back(tmp_path, monkeypatch):
    """Small node sizes, so the chromosome B+ tree and the R-trees have several levels."""
    monkeypatch.setattr(bigwig_format, "MAX_CHROM_KEYS", 3)
    monkeypatch.setattr(bigwig_format, "INDEX_BLOCK", 4)
    monkeypatch.setattr(bigwig_format, "ITEMS_PER_SLOT", 16)
    rng = np.random.default_rng(2)
    sizes = {f"contig_{i}": int(rng.integers(1_000, 50_000)) for i in range(11)}
    data = {}
    for chrom, size in sizes.items():
        positions = np.unique(rng.integers(0, size, 400)).astype(np.uint32)
        data[chrom] = np.stack([positions, rng.integers(1, 9, len(positions)).astype(np.uint32)])
    bigwig_format.write_bigwig(tmp_path / "deep.bw", sizes, data.get)
    with pyBigWig.open(str(tmp_path / "deep.bw")) as bigwig:
        assert bigwig.chroms() == sizes
        for chrom, size in sizes.items():
            expected = np.zeros(size)
            expected[data[chrom][0]] = data[chrom][1]
            assert np.array_equal(np.nan_to_num(bigwig.values(chrom, 0, size, numpy=True)), expected), chrom
            assert bigwig.stats(chrom, 0, 4096, nBins=4) == pytest.approx(
                bigwig.stats(chrom, 0, 4096, nBins=4, exact=True), nan_ok=True)


def test_a_write_that_fails_leaves_nothing(tmp_path):
    """A file-size limit stands for a full disk: the write raises, no file and no temporary stays."""
    code = ("import resource, signal, sys, numpy as np\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))\n"
            "from data_prep.reads.bigwig_writing import write_counts_bigwig\n"
            "p = np.arange(0, 2_000_000, 3, dtype=np.uint32)\n"
            "try:\n"
            f"    write_counts_bigwig({str(tmp_path / 'big.bw')!r}, {{'chr1': 2_000_000}},\n"
            "                        lambda c: np.stack([p, (p % 7 + 1).astype(np.uint32)]))\n"
            "except ValueError as error:\n"
            "    print(type(error).__name__, error)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.stdout.startswith("OutputWriteError could not write"), done.stderr
    assert "the file reached the file size limit (ulimit -f)" in done.stdout
    assert list(tmp_path.iterdir()) == []
