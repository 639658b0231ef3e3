"""What ``prep bigwig --cell-groups`` reports.

Each group's line, the run's summary, and the files that hold them (``groups_summary.tsv``, ``samples.tsv``,
``barcodes_not_seen.txt``).
"""

from __future__ import annotations

import dataclasses
import pathlib

from data_prep.outputs import write_text_atomic
from data_prep.outputs.containment import delete_file
from data_prep.reads.convert import TARGET_SHIFT
from data_prep.reads.shift_estimation import ShiftEstimate

SUMMARY_NAME = "groups_summary.tsv"
SAMPLES_NAME = "samples.tsv"
UNSEEN_NAME = "barcodes_not_seen.txt"
SUMMARY_COLUMNS = ("group", "file", "status", "cells", "cells_with_fragments", "fragments", "insertions",
                   "reads_on_other_contigs", "reads_off_chromosome", "reason")
UNASSIGNED = "(not in the table)"


@dataclasses.dataclass
class GroupResult:
    """One group's line of ``groups_summary.tsv``.

    Attributes:
        group: the group's name in the table.
        file: its bigWig's file name (``<stem>.bw``).
        status: ``written`` (by this run), ``kept`` (written by an earlier run that this one resumed) or
            ``skipped`` (no bigWig; ``reason`` says why).
        cells: barcodes of the group in the table.
        cells_with_fragments: of those, barcodes with at least one fragment.
        fragments: fragment lines of the group's cells.
        insertions: counts in its bigWig (reads kept after the shift).
        reads_on_other_contigs: reads dropped on contigs the genome lacks.
        reads_off_chromosome: reads the shift moved off their chromosome.
        reason: why a group was skipped (empty otherwise).
    """

    group: str
    file: str
    status: str
    cells: int
    cells_with_fragments: int
    fragments: int
    insertions: int | None = None
    reads_on_other_contigs: int = 0
    reads_off_chromosome: int | None = None
    reason: str = ""


@dataclasses.dataclass
class GroupsSummary:
    """What :func:`fragments_to_group_bigwigs` did.

    Attributes:
        source: the fragments file.
        table: the barcode -> group table.
        out_dir: the folder of the bigWigs.
        results: one :class:`GroupResult` per group, in the table's order.
        fragments: fragment lines read.
        unassigned_fragments: fragments of barcodes the table lacks.
        unassigned_barcodes: distinct such barcodes.
        unseen_barcodes: barcodes of the table with no fragment.
        unknown_contigs: contig -> reads of grouped cells dropped because the genome lacks it.
        input_shift: (+, -) shift the reads already had.
        estimated: whether it was estimated.
        estimate: the evidence of an estimated shift.
        delta: (+, -) shift applied.
        data_type: ``"ATAC"`` or ``"DNASE"``.
    """

    source: pathlib.Path
    table: pathlib.Path
    out_dir: pathlib.Path
    results: list
    fragments: int
    unassigned_fragments: int
    unassigned_barcodes: int
    unseen_barcodes: list
    unknown_contigs: dict
    input_shift: tuple
    estimated: bool
    estimate: ShiftEstimate | None
    delta: tuple
    data_type: str

    def lines(self) -> list[str]:
        """What to tell the user, one line per fact."""
        written = [r for r in self.results if r.status in ("written", "kept")]
        how = "given"
        if self.estimate is not None:
            how = (f"estimated from {self.estimate.reads[0]} + and {self.estimate.reads[1]} - strand reads of the "
                   "grouped cells")
        lines = [f"{self.source}: {self.fragments:,} fragments; {len(written)} of {len(self.results)} groups of "
                 f"{self.table.name} written to {self.out_dir}/; input shift {self.input_shift[0]:+d}/"
                 f"{self.input_shift[1]:+d} ({how}), applied {self.delta[0]:+d}/{self.delta[1]:+d} to reach the "
                 f"{self.data_type} convention {TARGET_SHIFT[self.data_type][0]:+d}/"
                 f"{TARGET_SHIFT[self.data_type][1]:+d}"]
        for r in self.results:
            counts = f"{r.cells_with_fragments:,}/{r.cells:,} cells, {r.fragments:,} fragments"
            if r.status == "skipped":
                lines.append(f"  skipped {r.group}: {r.reason}")
            else:
                lines.append(f"  {r.status} {r.file}: {counts}, {r.insertions:,} insertions")
        if self.unassigned_fragments:
            lines.append(f"  {self.unassigned_fragments:,} fragments of {self.unassigned_barcodes:,} barcodes not in "
                         f"{self.table.name} were not used")
        if self.unseen_barcodes:
            shown = ", ".join(self.unseen_barcodes[:3])
            lines.append(f"  {len(self.unseen_barcodes):,} barcodes of {self.table.name} have no fragment ({shown}"
                         f"{', ...' if len(self.unseen_barcodes) > 3 else ''}; all in {self.out_dir / UNSEEN_NAME})")
        if self.unknown_contigs:
            names = sorted(self.unknown_contigs, key=self.unknown_contigs.get, reverse=True)
            lines.append(f"  {sum(self.unknown_contigs.values()):,} reads on contigs the genome lacks were dropped: "
                         + ", ".join(f"{name} ({self.unknown_contigs[name]:,})" for name in names[:8])
                         + (", ..." if len(names) > 8 else ""))
        deepest = max(written, key=lambda r: r.fragments, default=None)
        if deepest is not None:
            lines.append(f"sample sheet: {self.out_dir / SAMPLES_NAME} (deepest group first: {deepest.file[:-3]}, "
                         f"the bias model's sample: `dream-keras pipeline --samples ... --bias-from "
                         f"{deepest.file[:-3]}`)")
        return lines


def _cell(value) -> str:
    return "" if value is None else str(value).replace("\t", " ").replace("\n", " ")


def write_group_files(summary: GroupsSummary) -> None:
    """``groups_summary.tsv``, ``samples.tsv`` and (when needed) ``barcodes_not_seen.txt`` in ``summary.out_dir``."""
    out_dir = summary.out_dir
    rows = ["\t".join(SUMMARY_COLUMNS)]
    for r in summary.results:
        rows.append("\t".join(_cell(getattr(r, column)) for column in SUMMARY_COLUMNS))
    rows.append("\t".join(_cell(value) for value in (
        UNASSIGNED, "", "unassigned", summary.unassigned_barcodes, summary.unassigned_barcodes,
        summary.unassigned_fragments, None, None, None,
        f"barcodes of {summary.source.name} that {summary.table.name} does not list")))
    write_text_atomic(out_dir / SUMMARY_NAME, "\n".join(rows) + "\n")
    written = sorted((r for r in summary.results if r.status in ("written", "kept")),
                     key=lambda r: r.fragments, reverse=True)
    write_text_atomic(out_dir / SAMPLES_NAME,
                      "name\tbigwig\n" + "".join(f"{r.file[:-3]}\t{r.file}\n" for r in written))
    unseen = out_dir / UNSEEN_NAME
    if summary.unseen_barcodes:
        write_text_atomic(unseen, "".join(f"{b}\n" for b in summary.unseen_barcodes))
    elif unseen.exists():
        delete_file(out_dir, unseen)  # an earlier run's list, inside the folder this command owns
