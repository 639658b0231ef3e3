"""Reads to bigWig (data_prep.reads) on real ATAC reads: the official rule, base for base, and its errors."""

from __future__ import annotations

import gzip
import pathlib
import subprocess
import sys

import numpy as np
import pyBigWig
import pysam
import pytest

from data_prep import reads_to_bigwig
from data_prep.errors import InputError

REPO = pathlib.Path(__file__).resolve().parents[1]
READS = REPO / "tests" / "data" / "reads"
BAM = READS / "atac_mm10_reads.bam"
TAGALIGN = READS / "atac_mm10_reads.tagAlign.gz"
FRAGMENTS = READS / "atac_mm10_fragments.tsv.gz"
GENOME = REPO / "data_prep" / "data" / "atac_mm10" / "genome.fa"
BUNDLED = REPO / "data_prep" / "data" / "atac_mm10" / "tn5_insertions.bw"
SIZES = {line.split()[0]: int(line.split()[1])
         for line in (GENOME.parent / "chrom.sizes").read_text().splitlines()}


def bigwig_counts(path) -> dict[str, np.ndarray]:
    with pyBigWig.open(str(path)) as handle:
        return {chrom: np.nan_to_num(np.array(handle.values(chrom, 0, size)))
                for chrom, size in handle.chroms().items()}


def loop_counts(plus_delta: int, minus_delta: int, path: pathlib.Path = BAM) -> dict[str, np.ndarray]:
    """The official rule, one read at a time, straight from a BAM (independent of data_prep.reads)."""
    counts = {chrom: np.zeros(size) for chrom, size in SIZES.items()}
    with pysam.AlignmentFile(str(path)) as bam:
        for read in bam:
            if read.is_unmapped or read.reference_name not in SIZES:
                continue
            position = read.reference_end - 1 + minus_delta if read.is_reverse else read.reference_start + plus_delta
            if 0 <= position < SIZES[read.reference_name]:
                counts[read.reference_name][position] += 1
    return counts


def total_difference(a: dict, b: dict) -> float:
    assert set(a) == set(b)
    return float(sum(np.abs(a[c] - b[c]).sum() for c in a))


def write_tagalign(path: pathlib.Path, lines: list[str]) -> pathlib.Path:
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return path


def tagalign_lines() -> list[str]:
    with gzip.open(TAGALIGN, "rt") as f:
        return f.readlines()


@pytest.fixture(scope="module")
def atac_outputs(tmp_path_factory):
    """The three inputs converted with the shift estimated, as the official pipeline does by default."""
    out = tmp_path_factory.mktemp("reads")
    summaries = {name: reads_to_bigwig(out / f"{name}.bw", GENOME, data_type="ATAC", **{name: path})
                 for name, path in (("bam", BAM), ("tagalign", TAGALIGN), ("fragments", FRAGMENTS))}
    return out, summaries


def test_three_formats_give_the_official_bigwig(atac_outputs):
    out, summaries = atac_outputs
    expected = loop_counts(4, -4)
    assert sum(v.sum() for v in expected.values()) == 16_872
    for name, summary in summaries.items():
        assert (summary.input_shift, summary.delta, summary.estimated) == ((0, 0), (4, -4), True), name
        assert (summary.reads, summary.kept) == (16_872, 16_872), name
        assert total_difference(bigwig_counts(out / f"{name}.bw"), expected) == 0, name
    assert "read 16872 reads, kept 16872, dropped none" in summaries["bam"].line()
    assert ("input shift +0/+0 (estimated from 8434 + and 8436 - strand reads, 3 + and 3 - reference motifs "
            "agreeing), applied +4/-4 to reach the ATAC convention +4/-4" in summaries["bam"].line())


def test_equals_the_official_chains_bedgraph(atac_outputs):
    """official_atac_mm10_tn5.bedGraph.gz: awk | sort | bedtools genomecov -bg -5 on the same tagAlign."""
    out, _ = atac_outputs
    official = {chrom: np.zeros(size) for chrom, size in SIZES.items()}
    with gzip.open(READS / "official_atac_mm10_tn5.bedGraph.gz", "rt") as f:
        for line in f:
            chrom, start, end, value = line.split()
            official[chrom][int(start):int(end)] = float(value)
    ours = bigwig_counts(out / "tagalign.bw")
    assert total_difference(ours, official) == 0
    # A one-base error in the minus-strand rule would be seen: it moves half of all insertions.
    assert total_difference(loop_counts(4, -3), official) > 10_000


def test_reproduces_the_bundled_insertions_within_the_realignment(atac_outputs):
    # Same FASTQs, aligned again (PROVENANCE.txt): 14 insertions differ; a wrong shift moves thousands.
    out, _ = atac_outputs
    bundled = bigwig_counts(BUNDLED)
    assert total_difference(bigwig_counts(out / "bam.bw"), bundled) <= 20
    assert total_difference(loop_counts(5, -4), bundled) > 10_000


def test_shifted_input_is_estimated_and_brought_back(tmp_path, atac_outputs):
    # Cell Ranger style +4/-5 fragments: the estimate must find +4/-5 and the bigWig must not change.
    shifted = tmp_path / "shifted.tsv.gz"
    with gzip.open(FRAGMENTS, "rt") as src, gzip.open(shifted, "wt") as dst:
        dst.write("# a Cell Ranger style header line\n")
        for line in src:
            chrom, start, end, *rest = line.rstrip("\n").split("\t")
            dst.write("\t".join([chrom, str(int(start) + 4), str(int(end) - 5), *rest]) + "\n")
    summary = reads_to_bigwig(tmp_path / "shifted.bw", GENOME, data_type="ATAC", fragments=shifted)
    assert (summary.input_shift, summary.delta) == ((4, -5), (0, 1))
    out, _ = atac_outputs
    assert total_difference(bigwig_counts(tmp_path / "shifted.bw"), bigwig_counts(out / "fragments.bw")) == 0


def test_dnase_rule_with_a_given_shift(tmp_path):
    summary = reads_to_bigwig(tmp_path / "dnase.bw", GENOME, data_type="DNASE", bam=BAM, plus_shift=0, minus_shift=0)
    assert (summary.delta, summary.estimated) == ((0, 1), False)
    assert total_difference(bigwig_counts(tmp_path / "dnase.bw"), loop_counts(0, 1)) == 0


def test_atac_reads_given_as_dnase_stop_with_advice(tmp_path):
    with pytest.raises(InputError, match=r"look like ATAC data: check --data-type.*--plus-shift and --minus-shift"):
        reads_to_bigwig(tmp_path / "x.bw", GENOME, data_type="DNASE", bam=BAM)
    assert not any(tmp_path.iterdir())


def test_too_few_reads_to_estimate(tmp_path):
    path = write_tagalign(tmp_path / "few.tagAlign", tagalign_lines()[:200])
    with pytest.raises(InputError, match=r"at least 1000 of each.*--plus-shift"):
        reads_to_bigwig(tmp_path / "x.bw", GENOME, data_type="ATAC", tagalign=path)


def test_unknown_contigs_and_reads_off_the_chromosome_are_dropped_and_counted(tmp_path):
    lines = tagalign_lines()
    extra = ["chr17_seg1\t0\t2\tedge\t0\t-", "chr17_seg5\t199998\t200001\tedge\t0\t+",
             "chr17_seg5\t100\t136\tnostrand\t0\t.",
             *[f"chrUn_extra\t{i}\t{i + 36}\tu\t0\t+" for i in range(7)]]
    path = write_tagalign(tmp_path / "extra.tagAlign", [extra[0]] + lines + extra[1:])
    summary = reads_to_bigwig(tmp_path / "extra.bw", GENOME, data_type="ATAC", tagalign=path,
                              plus_shift=0, minus_shift=0)
    assert summary.reads == 16_872 + 10
    assert summary.kept == 16_872
    assert summary.unknown_contigs == {"chrUn_extra": 7}
    assert summary.dropped == {"unmapped": 0, "without + or - strand": 1, "on contigs not in the genome": 7,
                               "shifted off the chromosome": 2}
    assert "7 on contigs not in the genome" in summary.line() and "chrUn_extra" in summary.line()
    assert total_difference(bigwig_counts(tmp_path / "extra.bw"), loop_counts(4, -4)) == 0


def test_unsorted_text_names_the_line_and_writes_nothing(tmp_path):
    lines = tagalign_lines()
    seg2 = next(i for i, line in enumerate(lines) if line.startswith("chr17_seg2"))
    path = write_tagalign(tmp_path / "unsorted.tagAlign", lines + lines[:3])
    with pytest.raises(InputError, match=rf"chr17_seg1 start again at line {len(lines) + 1}.*sort -k1,1 -k2,2n"):
        reads_to_bigwig(tmp_path / "out.bw", GENOME, data_type="ATAC", tagalign=path, plus_shift=0, minus_shift=0)
    assert seg2 > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unsorted.tagAlign"]


def test_unsorted_bam_names_the_record(tmp_path):
    path = tmp_path / "unsorted.bam"
    with pysam.AlignmentFile(str(BAM)) as src, pysam.AlignmentFile(str(path), "wb", template=src) as dst:
        reads = list(src)
        for read in reads[:3] + reads[-5:] + reads[3:6]:
            dst.write(read)
    with pytest.raises(InputError, match=r"chr17_seg1 start again at record 9.*samtools sort"):
        reads_to_bigwig(tmp_path / "out.bw", GENOME, data_type="ATAC", bam=path, plus_shift=0, minus_shift=0)


def test_truncated_inputs(tmp_path):
    cut_gz = tmp_path / "cut.tagAlign.gz"
    cut_gz.write_bytes(TAGALIGN.read_bytes()[: TAGALIGN.stat().st_size // 2])
    with pytest.raises(InputError, match=r"cut.tagAlign.gz: the compressed data stops or is corrupt after line \d+"):
        reads_to_bigwig(tmp_path / "a.bw", GENOME, data_type="ATAC", tagalign=cut_gz, plus_shift=0, minus_shift=0)
    cut_bam = tmp_path / "cut.bam"
    cut_bam.write_bytes(BAM.read_bytes()[: BAM.stat().st_size // 2])
    with pytest.raises(InputError, match=r"cut.bam has no BGZF end-of-file block: the BAM file is truncated"):
        reads_to_bigwig(tmp_path / "b.bw", GENOME, data_type="ATAC", bam=cut_bam, plus_shift=0, minus_shift=0)
    cut_line = write_tagalign(tmp_path / "cut.tagAlign", tagalign_lines()[:50] + ["chr17_seg1\t1200\t12"])
    with pytest.raises(InputError, match=r"cut.tagAlign line 51: a tagAlign line has at least 6 tab-separated fields"):
        reads_to_bigwig(tmp_path / "c.bw", GENOME, data_type="ATAC", tagalign=cut_line, plus_shift=0, minus_shift=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.bam", "cut.tagAlign", "cut.tagAlign.gz"]


def test_files_of_another_format(tmp_path):
    given = dict(data_type="ATAC", plus_shift=0, minus_shift=0)
    with pytest.raises(InputError, match=r"atac_mm10_reads.bam is a BAM file, not tagAlign text; pass it with --bam"):
        reads_to_bigwig(tmp_path / "a.bw", GENOME, tagalign=BAM, **given)
    with pytest.raises(InputError, match=r"fragments.tsv.gz line 1: a tagAlign line .* this one has 5.*--fragments"):
        reads_to_bigwig(tmp_path / "b.bw", GENOME, tagalign=FRAGMENTS, **given)
    with pytest.raises(InputError, match=r"is not a BAM or SAM file pysam can read"):
        reads_to_bigwig(tmp_path / "c.bw", GENOME, bam=TAGALIGN, **given)
    lines = tagalign_lines()
    bad = write_tagalign(tmp_path / "bad.tagAlign", lines[:2] + ["chr17_seg1\tabc\t40\tn\t0\t+"] + lines[2:])
    with pytest.raises(InputError, match=r"bad.tagAlign line 3: start and end must be whole numbers, not 'abc'"):
        reads_to_bigwig(tmp_path / "d.bw", GENOME, tagalign=bad, **given)
    backwards = write_tagalign(tmp_path / "backwards.tagAlign", lines[:4] + ["chr17_seg1\t90\t40\tn\t0\t+"])
    with pytest.raises(InputError, match=r"backwards.tagAlign line 5: start 90 and end 40 do not make an interval"):
        reads_to_bigwig(tmp_path / "e.bw", GENOME, tagalign=backwards, **given)
    other = write_tagalign(tmp_path / "other.tagAlign", [line.replace("chr17_seg", "chr9_x") for line in lines[:50]])
    with pytest.raises(InputError, match=r"no read falls on the chromosomes of .*genome.fa .*chr9_x1"):
        reads_to_bigwig(tmp_path / "f.bw", GENOME, tagalign=other, **given)
    assert not list(tmp_path.glob("*.bw")) and not list(tmp_path.glob(".*"))


def test_shift_arguments_come_in_pairs(tmp_path):
    with pytest.raises(InputError, match="both --plus-shift and --minus-shift"):
        reads_to_bigwig(tmp_path / "x.bw", GENOME, data_type="ATAC", bam=BAM, plus_shift=0)
    with pytest.raises(InputError, match="exactly one input"):
        reads_to_bigwig(tmp_path / "x.bw", GENOME, data_type="ATAC", bam=BAM, tagalign=TAGALIGN)


def test_comment_lines_take_the_line_by_line_parser_with_the_same_result(tmp_path):
    lines = tagalign_lines()
    path = write_tagalign(tmp_path / "commented.tagAlign", ["track name=reads", "# made by bedtools"] + lines)
    summary = reads_to_bigwig(tmp_path / "c.bw", GENOME, data_type="ATAC", tagalign=path, plus_shift=0, minus_shift=0)
    assert summary.kept == 16_872
    assert total_difference(bigwig_counts(tmp_path / "c.bw"), loop_counts(4, -4)) == 0


def test_cli_prep_bigwig(tmp_path, capsys):
    from dream_keras.cli import main

    out = tmp_path / "cli.bw"
    argv = ["prep", "bigwig", "--genome", str(GENOME), "--fragments", str(FRAGMENTS), "--data-type", "atac",
            "--out", str(out)]
    assert main(argv) == 0
    assert "read 16872 reads (8436 fragments), kept 16872, dropped none" in capsys.readouterr().out
    assert total_difference(bigwig_counts(out), loop_counts(4, -4)) == 0
    assert main(argv) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err


def test_reads_to_bigwig_does_not_import_tensorflow(tmp_path):
    code = ("import sys; from data_prep.reads import reads_to_bigwig; "
            f"reads_to_bigwig({str(tmp_path / 'x.bw')!r}, {str(GENOME)!r}, data_type='ATAC', bam={str(BAM)!r}); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "[]"


def test_small_blocks_give_the_same_reads():
    """Lines, chromosome runs and line numbers carry across block boundaries."""
    from data_prep.reads.fragments import FragmentReads
    from data_prep.reads.tagalign import TagAlignReads

    for kind, path in ((TagAlignReads, TAGALIGN), (FragmentReads, FRAGMENTS)):
        whole = list(kind(path))
        pieces = list(kind(path, block_bytes=3000))
        assert len(whole) == 5 and len(pieces) > 50
        def keys(ends):  # every read as one number, order-free (fragments list + then - reads per run)
            return np.sort(np.concatenate([2 * e.five_prime + e.minus for e in ends]))

        assert np.array_equal(keys(whole), keys(pieces)) and len(keys(whole)) == 16_872
        with gzip.open(path, "rt") as f:
            lines = f.readlines()
        for piece in pieces:
            # Each piece names the line of its first read.
            chrom, start, end, *rest = lines[int(piece.where.split()[1]) - 1].split("\t")
            first = int(end) - 1 if rest[2:3] == ["-\n"] else int(start)
            assert (piece.chrom, int(piece.five_prime[0])) == (chrom, first)
        starts = [int(e.where.split()[1]) for e in pieces]
        assert starts == sorted(starts) and starts[0] == 1


def test_reads_without_the_enzyme_signature_are_weak_evidence(tmp_path):
    # Reads at random places carry no Tn5 bias: the reference motifs cannot agree on a shift.
    rng = np.random.default_rng(1)
    lines = []
    for chrom, size in SIZES.items():
        for start in np.sort(rng.integers(100, size - 200, 1000)):
            lines.append(f"{chrom}\t{start}\t{start + 50}\tr\t0\t{'+' if rng.random() < 0.5 else '-'}")
    path = write_tagalign(tmp_path / "random.tagAlign", lines)
    message = r"cannot estimate the read shift .*(evidence is weak|not one ATAC data comes in).*--plus-shift"
    with pytest.raises(InputError, match=message):
        reads_to_bigwig(tmp_path / "x.bw", GENOME, data_type="ATAC", tagalign=path)


def test_bam_unmapped_reads_and_contigs_not_in_the_genome(tmp_path):
    path = tmp_path / "extra.bam"
    with pysam.AlignmentFile(str(BAM)) as src:
        header = src.header.to_dict()
        header["SQ"].append({"SN": "chrUn_bam", "LN": 5000})
        reads = list(src)
    with pysam.AlignmentFile(str(path), "wb", header=header) as dst:
        for number, read in enumerate(reads):
            if number in (10, 500, 9000):
                read.flag |= 0x4  # unmapped: bamtobed skips it
            dst.write(read)
        for number in range(4):
            extra = pysam.AlignedSegment(dst.header)
            extra.query_name, extra.flag = f"extra{number}", 16 * (number % 2)
            extra.reference_id = len(header["SQ"]) - 1
            extra.reference_start, extra.cigarstring, extra.mapping_quality = 100 * number, "30M", 40
            dst.write(extra)
    summary = reads_to_bigwig(tmp_path / "extra.bw", GENOME, data_type="ATAC", bam=path, plus_shift=0, minus_shift=0)
    assert (summary.reads, summary.kept) == (16_872 + 4, 16_872 - 3)
    assert summary.dropped["unmapped"] == 3 and summary.unknown_contigs == {"chrUn_bam": 4}
    assert "3 unmapped, 4 on contigs not in the genome (contigs not in the genome: chrUn_bam)" in summary.line()
    expected = loop_counts(4, -4, path)
    assert sum(v.sum() for v in expected.values()) == 16_872 - 3
    assert total_difference(bigwig_counts(tmp_path / "extra.bw"), expected) == 0


def test_without_zoom_levels_the_values_are_the_same(tmp_path, atac_outputs):
    out, _ = atac_outputs
    reads_to_bigwig(tmp_path / "flat.bw", GENOME, data_type="ATAC", bam=BAM, plus_shift=0, minus_shift=0,
                    zoom_levels=0)
    with pyBigWig.open(str(tmp_path / "flat.bw")) as flat, pyBigWig.open(str(out / "bam.bw")) as zoomed:
        assert flat.header()["nLevels"] == 0 and zoomed.header()["nLevels"] > 0
    assert total_difference(bigwig_counts(tmp_path / "flat.bw"), bigwig_counts(out / "bam.bw")) == 0


def test_reads_named_without_chr_are_reported_as_such(tmp_path):
    """A BAM whose chromosomes lack the genome's 'chr' prefix: the naming is the error, not the shift estimate."""
    renamed = tmp_path / "nochr.bam"
    with pysam.AlignmentFile(str(BAM)) as source:
        header = source.header.to_dict()
        for sequence in header["SQ"]:
            sequence["SN"] = sequence["SN"].removeprefix("chr")
        with pysam.AlignmentFile(str(renamed), "wb", header=header) as out:
            for read in source:
                fields = read.to_dict()
                fields["ref_name"] = fields["ref_name"].removeprefix("chr")
                fields["next_ref_name"] = fields["next_ref_name"].removeprefix("chr")
                out.write(pysam.AlignedSegment.from_dict(fields, out.header))
    message = (r"nochr.bam names its chromosomes without the 'chr' prefix \(17_seg\d \(the genome's chr17_seg\d\).* "
               r"but .*genome.fa names them with it.*samtools reheader")
    for shift in ({}, {"plus_shift": 0, "minus_shift": 0}):  # estimated, or given (then the counting pass sees it)
        with pytest.raises(InputError, match=message):
            reads_to_bigwig(tmp_path / "x.bw", GENOME, data_type="ATAC", bam=renamed, **shift)
    assert not list(tmp_path.glob("*.bw"))


def test_a_tagalign_without_strands_is_reported_as_such(tmp_path):
    lines = ["\t".join(line.rstrip("\n").split("\t")[:5] + ["."]) for line in tagalign_lines()[:3000]]
    dotted = write_tagalign(tmp_path / "dots.tagAlign", lines)
    for shift in ({}, {"plus_shift": 0, "minus_shift": 0}):
        with pytest.raises(InputError, match=r"dots.tagAlign: none of its 3000 reads has a strand: the sixth column "
                                             r"must be '\+' or '-' \(the first line reads 'chr17_seg1.*\\t\.'\).*"
                                             r"--fragments"):
            reads_to_bigwig(tmp_path / "y.bw", GENOME, data_type="ATAC", tagalign=dotted, **shift)
