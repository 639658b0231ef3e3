"""One pass over a single-cell fragments file: one insertion bigWig per group of cells.

The per-group bigWigs are those that :func:`data_prep.reads.reads_to_bigwig` (``dream-keras prep
bigwig``) makes from each group's fragments filtered into a file of their own: the same counting
rule, shift and bigWig writer. The shift is estimated once, from a uniform sample of the reads of
every grouped cell (the groups share one library preparation), unless it is given.

What the pass reads: fragments files of 10x Cell Ranger ATAC/ARC (bgzip, ``#`` header lines,
``chrom start end barcode count``) or any plain/gzip ``chrom start end barcode ...`` file sorted by
chromosome and start. Memory: :mod:`data_prep.reads.grouped_counting` (bounded, whatever the size
of the file); the counts wait on disk in a temporary folder beside the bigWigs.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import pathlib

import numpy as np

from data_prep.errors import InputError
from data_prep.genome import genome_sizes, opened_genome
from data_prep.outputs.atomic import scratch_folder
from data_prep.reads.bigwig_writing import bigwig_total, write_counts_bigwig
from data_prep.reads.cell_groups import CellGroups
from data_prep.reads.contig_names import naming_mismatch_message
from data_prep.reads.convert import TARGET_SHIFT, shift_delta
from data_prep.reads.fragments import BarcodedFragmentReads
from data_prep.reads.grouped_counting import GroupedInsertionCounter
from data_prep.reads.groups_summary import GroupResult, GroupsSummary, write_group_files
from data_prep.reads.read_ends import ReadEnds
from data_prep.reads.sampling import ReadSample
from data_prep.reads.shift_estimation import estimate_shift

#: fragments read before a table none of whose barcodes has appeared stops the pass
EARLY_CHECK_FRAGMENTS = 200_000


def _barcode_hint(table: CellGroups, seen: set) -> str:
    """What makes the table's barcodes differ from the fragments' (a prefix, a ``-1`` suffix), if visible."""
    examples = table.barcodes[:2000]
    if any("#" in b and b.split("#", 1)[1] in seen for b in examples):
        prefix = collections.Counter(b.split("#", 1)[0] for b in examples if "#" in b).most_common(1)[0][0]
        return (f" The table names cells SAMPLE#BARCODE (as ArchR does): pass --barcode-prefix '{prefix}#' to use the "
                "rows of that sample with the prefix removed.")
    if any(f"{b}-1" in seen for b in examples):
        return " The fragments' barcodes end in '-1' and the table's do not: add '-1' to the table's barcodes."
    if any(b.rsplit("-", 1)[0] in seen for b in examples if "-" in b):
        return (" The table's barcodes carry a suffix the fragments' lack (e.g. '-1-0' that scanpy's concat adds): "
                "remove it from the table.")
    return " Check that the table belongs to this fragments file (the same sample and barcode whitelist)."


def _no_match_error(fragments: pathlib.Path, table: CellGroups, read: int, seen: set) -> InputError:
    ours = ", ".join(sorted(seen)[:3])
    theirs = ", ".join(table.barcodes[:3])
    return InputError(f"none of the {len(table.barcodes):,} barcodes of {table.source} appears in the first {read:,} "
                      f"fragments of {fragments} (the fragments' barcodes look like {ours}; the table's like {theirs})."
                      + _barcode_hint(table, seen))


def _group_reason(fragments: int, cells: int, min_fragments: int, source: pathlib.Path) -> str:
    if not fragments:
        return f"no fragments: none of its {cells:,} barcodes appears in {source.name}"
    if fragments < min_fragments:
        return f"{fragments:,} fragments, below --min-fragments {min_fragments:,}"
    return ""


def fragments_to_group_bigwigs(out_dir: str | os.PathLike, genome: str | os.PathLike, fragments: str | os.PathLike,
                               groups: CellGroups, *, data_type: str, plus_shift: int | None = None,
                               minus_shift: int | None = None, min_fragments: int = 0, done_groups=(),
                               num_samples: int = 10_000, seed: int = 0, zoom_levels: int = 10,
                               progress: bool | None = None) -> GroupsSummary:
    """Write ``out_dir/<group>.bw`` for every group of ``groups`` in one pass over ``fragments``.

    Also writes ``groups_summary.tsv`` (:data:`~data_prep.reads.groups_summary.SUMMARY_COLUMNS`, one line per
    group, then one for the barcodes the table lacks), ``samples.tsv`` (a sample sheet for
    ``dream-keras pipeline --samples``: ``name``, ``bigwig``, deepest group first) and, when some barcodes of
    the table have no fragment, ``barcodes_not_seen.txt``. Every file is written under a temporary name and
    renamed when complete.

    Args:
        out_dir: existing folder for the outputs.
        genome: reference FASTA (chromosome names and sizes; the shift estimate reads it).
        fragments: single-cell fragments file (see the module docstring).
        groups: the barcode -> group table (:func:`~data_prep.reads.cell_groups.read_cell_groups`).
        data_type: ``"ATAC"`` or ``"DNASE"``.
        plus_shift: shift the + strand reads already have (give both shifts or neither; else estimated).
        minus_shift: shift the - strand reads already have (with ``plus_shift``).
        min_fragments: groups with fewer fragments get no bigWig (listed as skipped).
        done_groups: bigWig file names (``<stem>.bw``) an earlier run wrote (resumed): those groups are
            counted in the summary, not written again.
        num_samples: the shift estimate's sample (``2 * num_samples`` reads).
        seed: the seed of that sample.
        zoom_levels: bigWig zoom levels (see :func:`~data_prep.reads.bigwig_writing.write_counts_bigwig`).
        progress: a progress bar over the file (None: only on a terminal).

    Returns:
        :class:`GroupsSummary` (``lines()`` is the report for the user).

    Raises:
        InputError: a bad or truncated file (named with its line), no barcode of the table in the
            fragments (with what differs), reads named unlike the genome's chromosomes, no read on
            the genome, or a shift that cannot be estimated.
    """
    data_type = data_type.upper()
    if data_type not in TARGET_SHIFT:
        raise InputError(f"--data-type must be ATAC or DNASE, not {data_type!r}")
    if (plus_shift is None) != (minus_shift is None):
        raise InputError("give both --plus-shift and --minus-shift, or neither (then the shift is estimated)")
    out_dir = pathlib.Path(out_dir)
    reads = BarcodedFragmentReads(fragments)
    if not reads.path.is_file():
        raise InputError(f"--fragments file {reads.path} does not exist")
    stems = groups.file_stems()
    done = np.array([f"{stem}.bw" in set(done_groups) for stem in stems], dtype=bool)
    estimating = plus_shift is None
    # named after this process, so that a killed run's spill is removed by the next command writing there
    with opened_genome(genome) as fasta, scratch_folder(out_dir / "groups", "spill") as spill:
        sizes = genome_sizes(fasta)
        counter = GroupedInsertionCounter(sizes, len(groups.groups), spill, str(reads.path), skip_groups=done)
        sample = ReadSample(2 * num_samples, seed=seed) if estimating else None
        tally = _count_pass(reads, groups, genome, sizes, counter, sample, progress)
        estimate = None
        if estimating:
            estimate = estimate_shift(sample.reads(), fasta, data_type)
            plus_shift, minus_shift = estimate.plus, estimate.minus
        delta = shift_delta(data_type, plus_shift, minus_shift)
        results = _write_groups(out_dir, groups, tally, counter, sizes, delta, done, min_fragments, zoom_levels,
                                reads.path)
    summary = GroupsSummary(
        source=reads.path, table=groups.source, out_dir=out_dir, results=results,
        fragments=reads.tally["fragments"], unassigned_fragments=tally.unassigned,
        unassigned_barcodes=len(tally.unknown_barcodes),
        unseen_barcodes=[b for b, n in zip(groups.barcodes, tally.fragments_per_barcode) if not n],
        unknown_contigs=dict(counter.unknown_contigs), input_shift=(plus_shift, minus_shift), estimated=estimating,
        estimate=estimate, delta=delta, data_type=data_type)
    write_group_files(summary)
    return summary


@dataclasses.dataclass
class _PassTally:
    """What the pass counted besides the reads.

    The fragments of each barcode of the table, and the fragments and distinct barcodes the table lacks.
    """

    fragments_per_barcode: np.ndarray
    unassigned: int = 0
    unknown_barcodes: set = dataclasses.field(default_factory=set)


def _count_pass(reads: BarcodedFragmentReads, groups: CellGroups, genome, sizes: dict,
                counter: GroupedInsertionCounter, sample: ReadSample | None, progress: bool | None) -> _PassTally:
    """The one pass over the fragments, per chromosome run.

    Each block's barcodes are looked up in the table and its grouped fragments counted (and sampled for the
    shift estimate).
    """
    from tqdm.auto import tqdm

    tally = _PassTally(np.zeros(len(groups.barcodes), dtype=np.int64))
    checked_names = False
    with tqdm(total=reads.path.stat().st_size, desc=reads.path.name, unit="B", unit_scale=True,
              disable=None if progress is None else not progress) as bar:
        for rows in reads.blocks(on_read=lambda done_bytes: bar.update(done_bytes - bar.n)):
            # a block holds a few thousand distinct barcodes: one dictionary look-up each
            lookup = np.fromiter((groups.index.get(b, -1) for b in rows.barcodes), dtype=np.int64,
                                 count=len(rows.barcodes))
            table_row = lookup[rows.barcode_codes]
            matched = table_row >= 0
            tally.unassigned += int(len(matched) - matched.sum())
            tally.unknown_barcodes.update(b for b, m in zip(rows.barcodes, lookup) if m < 0)
            tally.fragments_per_barcode += np.bincount(table_row[matched], minlength=len(groups.barcodes))
            if reads.tally["fragments"] >= EARLY_CHECK_FRAGMENTS and not tally.fragments_per_barcode.any():
                raise _no_match_error(reads.path, groups, reads.tally["fragments"], tally.unknown_barcodes)
            kept = np.flatnonzero(matched)
            if not len(kept):
                continue
            group = groups.group_of[table_row[kept]]
            codes, start, end = rows.codes[kept], rows.start[kept], rows.end[kept]
            cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
            for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(kept)]])):
                chrom = rows.names[codes[a]]
                if chrom not in sizes and not checked_names:
                    # the first contig, before any read matched: other names for the same chromosomes?
                    mismatch = naming_mismatch_message(reads.path, genome, [chrom], sizes, reads.option)
                    if mismatch:
                        raise InputError(mismatch)
                checked_names = checked_names or chrom in sizes
                if sample is not None and chrom in sizes:
                    sample.add(ReadEnds(chrom, np.concatenate([start[a:b], end[a:b] - 1]),
                                        np.repeat([False, True], b - a), f"line {rows.lines[kept[a]]}"))
                counter.add(chrom, start[a:b], end[a:b], group[a:b])
    counter.finish()
    if not tally.fragments_per_barcode.any():
        raise _no_match_error(reads.path, groups, reads.tally["fragments"], tally.unknown_barcodes)
    if not counter.reads_by_group.any():
        names = sorted(counter.unknown_contigs, key=counter.unknown_contigs.get, reverse=True)
        raise InputError(f"{reads.path}: the fragments of the grouped cells all lie on contigs {genome} lacks "
                         f"({', '.join(names[:5])}; the genome has {', '.join(list(sizes)[:5])}"
                         f"{', ...' if len(sizes) > 5 else ''}); check that the reads were aligned to this genome")
    return tally


def _write_groups(out_dir: pathlib.Path, groups: CellGroups, tally: _PassTally, counter: GroupedInsertionCounter,
                  sizes: dict, delta: tuple, done: np.ndarray, min_fragments: int, zoom_levels: int,
                  source: pathlib.Path) -> list[GroupResult]:
    """Each group's bigWig (or the reason it has none), in the table's order."""
    n_groups = len(groups.groups)
    cells = groups.cells_per_group()
    seen = tally.fragments_per_barcode > 0
    cells_seen = np.bincount(groups.group_of[seen], minlength=n_groups)
    fragments_per_group = np.bincount(groups.group_of, weights=tally.fragments_per_barcode,
                                      minlength=n_groups).astype(np.int64)
    results = []
    for index, (name, stem) in enumerate(zip(groups.groups, groups.file_stems())):
        result = GroupResult(group=name, file=f"{stem}.bw", status="skipped", cells=int(cells[index]),
                             cells_with_fragments=int(cells_seen[index]), fragments=int(fragments_per_group[index]),
                             reads_on_other_contigs=int(counter.unknown_by_group[index]))
        results.append(result)
        result.reason = _group_reason(result.fragments, result.cells, min_fragments, source)
        if result.reason:
            continue
        path = out_dir / result.file
        if done[index]:
            result.status, result.insertions = "kept", bigwig_total(path)
        elif not counter.reads_by_group[index]:
            result.reason = f"its {result.fragments:,} fragments all lie on contigs the genome lacks"
        else:
            result.insertions, result.reads_off_chromosome = _write_group(path, sizes, counter, index, delta,
                                                                          zoom_levels)
            result.status = "written"
    return results


def _write_group(path: pathlib.Path, sizes: dict, counter: GroupedInsertionCounter, group: int, delta: tuple,
                 zoom_levels: int) -> tuple[int, int]:
    """Write one group's bigWig; return its insertions and the reads the shift moved off their chromosome."""
    tally = {}  # per chromosome: the writer may read a chromosome twice

    def counts_of(chrom):
        values, off_chromosome = counter.counts(chrom, group, delta[0], delta[1])
        tally[chrom] = (0 if values is None else int(values[1].sum(dtype=np.int64)), off_chromosome)
        return values

    write_counts_bigwig(path, sizes, counts_of, zoom_levels=zoom_levels)
    return sum(t[0] for t in tally.values()), sum(t[1] for t in tally.values())
