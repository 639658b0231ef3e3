"""``prep bigwig --cell-groups``: one bigWig per group of barcodes.

The barcode -> group table, and one pass over a fragments file giving one bigWig per group, equal base for
base to filtering each group's fragments by hand and converting each; its files (plain with 10x ``#``
headers, gzip, bgzip + tabix, unsorted), and what it names and refuses (truncation, unknown contigs,
barcodes never seen, groups without fragments, a killed run).
"""

from __future__ import annotations

import gzip
import os
import pathlib
import subprocess
import sys

import numpy as np
import pyBigWig
import pysam
import pytest

from data_prep.errors import InputError
from data_prep.reads import grouped_counting, reads_to_bigwig
from data_prep.reads.cell_groups import group_file_stem, read_cell_groups
from data_prep.reads.grouped_convert import fragments_to_group_bigwigs

REPO = pathlib.Path(__file__).resolve().parents[1]
GENOME = REPO / "data_prep" / "data" / "atac_mm10" / "genome.fa"
SIZES = {line.split()[0]: int(line.split()[1]) for line in (GENOME.parent / "chrom.sizes").read_text().splitlines()}
GROUPS = {"T cells": ["AAAC-1", "AAAG-1", "AAAT-1", "AACA-1"], "B": ["CCCA-1", "CCCG-1"], "NK": ["GGGA-1"]}
BACKGROUND = ["TTTA-1", "TTTC-1"]
HEADER = "# id=test\n# description=made by tests/test_cell_groups.py\n# primary_contig=chr17_seg1\n"


def fragment_rows(seed: int = 0, n: int = 3000) -> list[tuple]:
    """Sorted fragments (chrom, start, end, barcode, count) on the bundled genome's segments."""
    rng = np.random.default_rng(seed)
    barcodes = [b for members in GROUPS.values() for b in members] + BACKGROUND
    rows = []
    for chrom in sorted(SIZES):
        starts = np.sort(rng.integers(0, SIZES[chrom] - 300, n // len(SIZES)))
        # a few fragments reach the chromosome's ends, so the shift drops some reads off it
        starts[0], starts[-1] = 0, SIZES[chrom] - 300
        lengths = rng.integers(20, 300, len(starts))
        lengths[-1] = 300
        for start, length in zip(starts, lengths):
            rows.append((chrom, int(start), int(start + length), barcodes[rng.integers(len(barcodes))], 1))
    return rows


def write_table(path: pathlib.Path, groups=GROUPS, header="barcode\tcell_type\n") -> pathlib.Path:
    path.write_text(header + "".join(f"{b}\t{g}\n" for g, members in groups.items() for b in members))
    return path


def write_fragments(path: pathlib.Path, rows, layout: str) -> pathlib.Path:
    """``layout``: plain (10x '#' header), gzip, bgzip (+ tabix index, as Cell Ranger writes them)."""
    text = HEADER + "".join("\t".join(map(str, row)) + "\n" for row in rows)
    if layout == "gzip":
        with gzip.open(path, "wt") as handle:
            handle.write(text)
        return path
    plain = path.with_suffix("") if layout == "bgzip" else path
    plain.write_text(text)
    if layout == "bgzip":
        pysam.tabix_index(str(plain), seq_col=0, start_col=1, end_col=2, meta_char="#", zerobased=True, force=True)
        assert path.is_file() and pathlib.Path(str(path) + ".tbi").is_file()
    return path


def bigwig_values(path) -> dict:
    with pyBigWig.open(str(path)) as handle:
        return {chrom: np.nan_to_num(handle.values(chrom, 0, size, numpy=True)) for chrom, size in SIZES.items()}


def by_hand(tmp_path: pathlib.Path, rows, group: str, **shift) -> dict:
    """Filter the group's fragments into a file of their own and convert it (``prep bigwig``'s code)."""
    members = set(GROUPS[group])
    own = tmp_path / f"hand_{group_file_stem(group)}.tsv"
    # sorted: the single-sample conversion wants reads grouped by chromosome
    own.write_text("".join("\t".join(map(str, row)) + "\n" for row in sorted(rows) if row[3] in members))
    reads_to_bigwig(tmp_path / f"hand_{group_file_stem(group)}.bw", GENOME, data_type="ATAC", fragments=own, **shift)
    return bigwig_values(tmp_path / f"hand_{group_file_stem(group)}.bw")


@pytest.mark.parametrize("layout", ["plain", "gzip", "bgzip", "unsorted"])
def test_one_pass_equals_each_group_filtered_and_converted(tmp_path, monkeypatch, layout):
    rows = fragment_rows()
    if layout == "unsorted":
        # starts going down within a chromosome, and a chromosome coming back after another
        rows = rows[::-1][:1500] + rows[:1500][::-1]
    # a few thousand keys per round, so fragments in flight are carried over between rounds
    monkeypatch.setattr(grouped_counting, "PENDING_KEYS", 500)
    name = {"plain": "f.tsv", "gzip": "f.tsv.gz", "bgzip": "f.tsv.gz", "unsorted": "f.tsv"}[layout]
    fragments = write_fragments(tmp_path / name, rows, "plain" if layout == "unsorted" else layout)
    out = tmp_path / "out"
    out.mkdir()
    shift = dict(plus_shift=4, minus_shift=-5)  # Cell Ranger's, so the delta is 0/+1
    summary = fragments_to_group_bigwigs(out, GENOME, fragments, read_cell_groups(write_table(tmp_path / "g.tsv")),
                                         data_type="ATAC", progress=False, **shift)
    assert summary.delta == (0, 1)
    by_group = {r.group: r for r in summary.results}
    for group, members in GROUPS.items():
        expected = by_hand(tmp_path, rows, group, **shift)
        ours = bigwig_values(out / f"{group_file_stem(group)}.bw")
        assert all(np.array_equal(ours[c], expected[c]) for c in SIZES), group
        mine = [row for row in rows if row[3] in members]
        result = by_group[group]
        assert result.status == "written" and result.fragments == len(mine)
        assert result.insertions == int(sum(v.sum() for v in ours.values()))
        assert result.insertions + result.reads_off_chromosome == 2 * len(mine)
        assert result.cells == len(members) and result.cells_with_fragments == len({r[3] for r in mine})
    assert summary.unassigned_fragments == sum(row[3] in BACKGROUND for row in rows)
    assert summary.unassigned_barcodes == 2 and summary.unseen_barcodes == []
    assert sum(r.reads_off_chromosome for r in summary.results) > 0  # the end fragments: shifted off
    table = (out / "groups_summary.tsv").read_text().splitlines()
    assert table[0].split("\t")[:3] == ["group", "file", "status"]
    assert [line.split("\t")[0] for line in table[1:]] == [*GROUPS, "(not in the table)"]
    sheet = (out / "samples.tsv").read_text().splitlines()
    assert sheet[0] == "name\tbigwig" and sheet[1] == "T_cells\tT_cells.bw"  # deepest group first
    assert sorted(p.name for p in out.iterdir()) == ["B.bw", "NK.bw", "T_cells.bw", "groups_summary.tsv",
                                                     "samples.tsv"]


def test_the_shift_is_estimated_once_from_every_grouped_cell(tmp_path):
    """Real reads (the bundled fragments, not shifted): estimated 0/0 from all groups together."""
    out = tmp_path / "out"
    out.mkdir()
    data = REPO / "data_prep" / "data" / "atac_mm10"
    summary = fragments_to_group_bigwigs(out, GENOME, data / "fragments.tsv.gz", read_cell_groups(
        data / "cell_groups.tsv"), data_type="ATAC", min_fragments=1000, progress=False)
    assert summary.estimated and summary.input_shift == (0, 0) and summary.delta == (4, -4)
    assert [(r.group, r.status) for r in summary.results] == [("cluster_A", "written"), ("cluster_B", "written"),
                                                              ("rare", "skipped")]
    assert "below --min-fragments 1,000" in summary.results[2].reason
    # every read of the grouped cells is in one bigWig or the skipped group: the bundled total (16,872 reads)
    written = sum(r.insertions for r in summary.results if r.insertions)
    assert written + 2 * summary.results[2].fragments + 2 * summary.unassigned_fragments == 16_872


def test_truncated_files_are_named_and_nothing_is_written(tmp_path):
    rows = fragment_rows()
    table = read_cell_groups(write_table(tmp_path / "g.tsv"))
    full = write_fragments(tmp_path / "full.tsv.gz", rows, "gzip").read_bytes()
    cut = tmp_path / "cut.tsv.gz"
    cut.write_bytes(full[: len(full) // 2])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match=r"cut.tsv.gz: the compressed data stops .* truncated or damaged"):
        fragments_to_group_bigwigs(out, GENOME, cut, table, data_type="ATAC", plus_shift=0, minus_shift=0)
    # a bgzip file cut between two blocks reads as complete gzip: its missing end-of-file block tells
    bgzf = write_fragments(tmp_path / "b.tsv.gz", rows, "bgzip").read_bytes()
    assert bgzf.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    between = tmp_path / "between.tsv.gz"
    between.write_bytes(bgzf[:-28])
    with pytest.raises(InputError, match=r"between.tsv.gz is a bgzip file without its end-of-file block"):
        fragments_to_group_bigwigs(out, GENOME, between, table, data_type="ATAC", plus_shift=0, minus_shift=0)
    assert list(out.iterdir()) == []


def test_contigs_the_genome_lacks_are_named_and_counted(tmp_path):
    rows = fragment_rows() + [("chrUn_x", 10, 200, "AAAC-1", 1), ("chrUn_x", 50, 90, "CCCA-1", 1)]
    out = tmp_path / "out"
    out.mkdir()
    summary = fragments_to_group_bigwigs(out, GENOME, write_fragments(tmp_path / "f.tsv", rows, "plain"),
                                         read_cell_groups(write_table(tmp_path / "g.tsv")), data_type="ATAC",
                                         plus_shift=0, minus_shift=0)
    assert summary.unknown_contigs == {"chrUn_x": 4}
    assert [r.reads_on_other_contigs for r in summary.results] == [2, 2, 0]
    assert any("reads on contigs the genome lacks were dropped: chrUn_x (4)" in line for line in summary.lines())
    # every contig without 'chr' while the genome has it: the naming, not a missing shift, is reported
    renamed = [(c.replace("chr", ""), *rest) for c, *rest in fragment_rows()]
    with pytest.raises(InputError, match=r"names its chromosomes without the 'chr' prefix .*17_seg1 \(the genome's "
                                         r"chr17_seg1\).*Use the FASTA the reads were aligned to"):
        fragments_to_group_bigwigs(out, GENOME, write_fragments(tmp_path / "n.tsv", renamed, "plain"),
                                   read_cell_groups(write_table(tmp_path / "g.tsv")), data_type="ATAC")


def test_barcodes_never_seen_and_groups_without_fragments(tmp_path):
    groups = {**GROUPS, "B": GROUPS["B"] + ["NEVER-1"], "ghost": ["GONE-1", "LOST-1"]}
    out = tmp_path / "out"
    out.mkdir()
    summary = fragments_to_group_bigwigs(out, GENOME, write_fragments(tmp_path / "f.tsv", fragment_rows(), "plain"),
                                         read_cell_groups(write_table(tmp_path / "g.tsv", groups)), data_type="ATAC",
                                         plus_shift=0, minus_shift=0, min_fragments=400)
    by_group = {r.group: r for r in summary.results}
    assert by_group["ghost"].status == "skipped"
    assert by_group["ghost"].reason == "no fragments: none of its 2 barcodes appears in f.tsv"
    assert by_group["NK"].status == "skipped" and "below --min-fragments 400" in by_group["NK"].reason
    assert (by_group["B"].cells, by_group["B"].cells_with_fragments) == (3, 2)
    assert (out / "barcodes_not_seen.txt").read_text().split() == ["NEVER-1", "GONE-1", "LOST-1"]
    assert not (out / "ghost.bw").exists() and not (out / "NK.bw").exists()
    assert "ghost" not in (out / "samples.tsv").read_text()


def test_a_table_whose_barcodes_never_appear_is_refused_with_what_differs(tmp_path):
    fragments = write_fragments(tmp_path / "f.tsv", fragment_rows(), "plain")
    archr = tmp_path / "archr.csv"
    archr.write_text('"","Sample","TSSEnrichment","Clusters"\n'
                     + "".join(f'"S1#{b}","S1",7.5,"{g}"\n' for g, members in GROUPS.items() for b in members))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match=r"none of the 7 barcodes of .*archr.csv appears in the first 3,000 fragments"
                                         r".*pass --barcode-prefix 'S1#'"):
        fragments_to_group_bigwigs(out, GENOME, fragments, read_cell_groups(archr, group_column="Clusters"),
                                   data_type="ATAC", plus_shift=0, minus_shift=0)
    table = read_cell_groups(archr, group_column="Clusters", barcode_prefix="S1#")
    summary = fragments_to_group_bigwigs(out, GENOME, fragments, table, data_type="ATAC", plus_shift=0, minus_shift=0)
    assert [r.status for r in summary.results] == ["written"] * 3


def test_group_tables_of_the_usual_exports(tmp_path):
    two = tmp_path / "two.tsv"
    two.write_text("AAAC-1\tT\nCCCA-1\tB\n\nAAAG-1\tT\n")  # no header
    table = read_cell_groups(two)
    assert table.groups == ["T", "B"] and table.barcodes == ["AAAC-1", "CCCA-1", "AAAG-1"]
    seurat = tmp_path / "meta.csv.gz"  # R's write.csv of a Seurat meta.data, gzipped
    with gzip.open(seurat, "wt") as handle:
        handle.write('"","orig.ident","nCount_ATAC","seurat_clusters"\n"AAAC-1","pbmc",1200,"0"\n'
                     '"CCCA-1","pbmc",800,"1"\n"GGGA-1","pbmc",500,NA\n')
    table = read_cell_groups(seurat, group_column="seurat_clusters")
    assert table.groups == ["0", "1"] and table.skipped_rows == 1 and table.group_column == "seurat_clusters"
    assert read_cell_groups(seurat, group_column="4").groups == ["0", "1"]
    scanpy = tmp_path / "obs.csv"
    scanpy.write_text(",n_genes,leiden,cell_type\nAAAC-1,10,3,CD14+ Mono\nCCCA-1,12,1,B cell\n")
    table = read_cell_groups(scanpy, group_column="cell_type")
    assert table.groups == ["CD14+ Mono", "B cell"] and table.file_stems() == ["CD14+_Mono", "B_cell"]
    with pytest.raises(InputError, match=r"obs.csv has 4 columns .*'leiden'.*name the one that holds the group"):
        read_cell_groups(scanpy)
    with pytest.raises(InputError, match=r"obs.csv has no column 'cluster' \(--group-column\); its columns are"):
        read_cell_groups(scanpy, group_column="cluster")
    twice = tmp_path / "twice.tsv"
    twice.write_text("barcode\tgroup\nAAAC-1\tT\nCCCA-1\tB\nAAAC-1\tB\n")
    with pytest.raises(InputError, match=r"barcode AAAC-1 is in group 'T' \(line 2\) and in group 'B' \(line 4\)"):
        read_cell_groups(twice)
    clash = tmp_path / "clash.tsv"
    clash.write_text("barcode\tgroup\nAAAC-1\tB cell\nCCCA-1\tB_cell\n")
    with pytest.raises(InputError, match=r"groups 'B cell' and 'B_cell' would both be written as B_cell.bw"):
        read_cell_groups(clash)


# the command, then the heavy modules it loaded (it must stay Keras-free)
RUN_AND_LIST_MODULES = ("import sys\nfrom dream_keras.cli import main\nstatus = main(sys.argv[1:])\n"
                        "print('loaded:', sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') "
                        "if m in sys.modules))\n"
                        "sys.exit(status)")


def _prep(tmp_path, *extra, env=None, killed_at=None):
    kill = [str(REPO / "tests" / "kill_at.py"), killed_at] if killed_at else []
    argv = [sys.executable, *kill, "-c", RUN_AND_LIST_MODULES, "prep", "bigwig",
            "--fragments", str(tmp_path / "f.tsv.gz"),
            "--cell-groups", str(tmp_path / "g.tsv"), "--genome", str(GENOME), "--data-type", "ATAC",
            "--plus-shift", "4", "--minus-shift", "-5", "--out-dir", str(tmp_path / "out"), *extra]
    return subprocess.run(argv, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_a_killed_run_leaves_only_finished_bigwigs_and_resume_finishes_it(tmp_path):
    write_fragments(tmp_path / "f.tsv.gz", fragment_rows(), "bgzip")
    write_table(tmp_path / "g.tsv")
    killed = _prep(tmp_path, killed_at="after-rename:B.bw")
    assert killed.returncode == -9
    out = tmp_path / "out"
    # the groups are written in the table's order: T cells and B are complete, NK never got a final name
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith(".tmp-"))
    assert visible == ["B.bw", "T_cells.bw", "logs", "prep_bigwig.json"]
    before = {name: (out / name).read_bytes() for name in ("B.bw", "T_cells.bw")}
    again = _prep(tmp_path)
    assert again.returncode == 2 and "--resume to continue an interrupted run" in again.stderr
    # the dead process's spill folder goes, as other temporaries of dead processes do
    assert "removed 1 leftover(s)" in again.stdout and "spill" in again.stdout
    resumed = _prep(tmp_path, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "2 of 3 bigWigs were finished and are kept" in resumed.stdout
    assert "loaded: []" in resumed.stdout  # no TensorFlow, Keras or other backend
    assert "kept T_cells.bw" in resumed.stdout and "written NK.bw" in resumed.stdout
    assert sorted(p.name for p in out.iterdir()) == ["B.bw", "NK.bw", "T_cells.bw", "groups_summary.tsv", "logs",
                                                     "prep_bigwig.json", "samples.tsv"]
    assert all((out / name).read_bytes() == data for name, data in before.items())
    rows = fragment_rows()
    nk = by_hand(tmp_path, rows, "NK", plus_shift=4, minus_shift=-5)
    assert all(np.array_equal(bigwig_values(out / "NK.bw")[c], nk[c]) for c in SIZES)
    assert "nothing to do" in _prep(tmp_path, "--resume").stdout
    (tmp_path / "g.tsv").write_text((tmp_path / "g.tsv").read_text() + "GGGG-1\tNK\n")
    changed = subprocess.run([sys.executable, "-m", "dream_keras.cli", "prep", "bigwig", "--fragments",
                              str(tmp_path / "f.tsv.gz"), "--cell-groups", str(tmp_path / "g.tsv"), "--genome",
                              str(GENOME), "--data-type", "ATAC", "--out-dir", str(out), "--resume"],
                             capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert changed.returncode == 2 and "cell_groups" in changed.stderr and "g.tsv changed" in changed.stderr \
        and "plus_shift" in changed.stderr


def test_the_block_parsers_agree_and_name_a_bad_line(tmp_path, monkeypatch):
    """Pyarrow's reader (when installed), pandas' and the line-by-line reference give the same rows."""
    from data_prep.reads import text_table
    from data_prep.reads.fragments import BARCODED_FRAGMENTS

    text = (HEADER + "".join("\t".join(map(str, row)) + "\n" for row in fragment_rows())).encode()
    path = tmp_path / "f.tsv"

    def rows(parsed):
        return ([parsed.names[c] for c in parsed.codes], parsed.start.tolist(), parsed.end.tolist(),
                [parsed.barcodes[c] for c in parsed.barcode_codes], parsed.lines.tolist())

    reference = rows(text_table._parse_lines(text, 1, path, BARCODED_FRAGMENTS))
    assert reference[4][0] == 4 and len(reference[0]) == 3000  # three header lines skipped, lines counted
    fast = rows(text_table.parse_block(text, 1, path, BARCODED_FRAGMENTS))
    monkeypatch.setattr(text_table, "_arrow_csv", lambda: None)
    assert rows(text_table.parse_block(text, 1, path, BARCODED_FRAGMENTS)) == fast == reference
    monkeypatch.undo()
    bad = text + b"chr17_seg5\t10\t50\n"
    with pytest.raises(InputError, match=r"f.tsv line 3004: a fragments line has at least 4 tab-separated fields"):
        text_table.parse_block(bad, 1, path, BARCODED_FRAGMENTS)
