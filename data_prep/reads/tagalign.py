"""tagAlign reads (chrom, start, end, name, score, strand; plain or gzip) as 5' ends.

As the official chain (awk on ``$6``), a line whose strand is neither ``+`` nor ``-`` is dropped;
it is counted in ``tally["no_strand"]``.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from data_prep.reads.read_ends import ReadEnds
from data_prep.reads.text_table import TableLayout, TableReads, chromosome_runs

TAGALIGN = TableLayout(
    name="tagAlign", fields="chrom, start, end, name, score, strand", min_fields=6, strand_field=5,
    hint="Is this a fragments file (pass it with --fragments) or a BED without strand?")


class TagAlignReads(TableReads):
    """Iterable over the reads of a tagAlign file; each pass re-reads the file.

    Attributes:
        path: the file.
        block_bytes: bytes parsed at a time.
        tally: counts of the last pass: ``reads`` (lines), ``no_strand`` (dropped lines).
    """

    option = "--tagalign"
    layout = TAGALIGN

    def __iter__(self) -> Iterator[ReadEnds]:
        for rows in self.parsed_blocks():
            self.tally["reads"] += len(rows.codes)
            for chrom, rows_slice in chromosome_runs(rows):
                strand, start, end = rows.strand[rows_slice], rows.start[rows_slice], rows.end[rows_slice]
                stranded = strand != 0
                if not stranded.all():
                    self.tally["no_strand"] += int(len(strand) - stranded.sum())
                    strand, start, end = strand[stranded], start[stranded], end[stranded]
                minus = strand < 0
                # bedtools genomecov -5: the 5' end of a - strand read is its last base, end - 1.
                five = np.where(minus, end - 1, start)
                if len(five):
                    yield ReadEnds(chrom, five, minus, f"line {rows.lines[rows_slice][0]}")
