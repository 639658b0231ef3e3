"""Fragments files (chrom, start, end[, barcode, count]; plain, gzip or bgzip) as read 5' ends.

The official conversion (``fragment_to_tagalign_stream``) writes every fragment line as two reads
spanning the fragment, one on each strand; so a fragment gives a + read whose 5' end is ``start``
and a - read whose 5' end is ``end - 1``. The count column is ignored (each line counts once), as
there. Header lines (``#``, as 10x Cell Ranger ATAC/ARC writes them) are skipped.
:class:`BarcodedFragmentReads` reads the cell barcode (fourth column) too, for per-group counting.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from data_prep.reads.prefetch import prefetched
from data_prep.reads.read_ends import ReadEnds
from data_prep.reads.text_table import TableLayout, TableReads, TableRows, chromosome_runs

FRAGMENTS = TableLayout(
    name="fragments", fields="chrom, start, end, ...", min_fields=3, strand_field=None,
    hint="A fragments file is tab-separated: chrom, start, end, then optional columns.")
BARCODED_FRAGMENTS = TableLayout(
    name="fragments", fields="chrom, start, end, cell barcode, ...", min_fields=4, strand_field=None,
    hint="A single-cell fragments file is tab-separated: chrom, start, end, cell barcode, then optional columns "
         "(10x Cell Ranger ATAC/ARC: the read count).", barcode_field=3)


class FragmentReads(TableReads):
    """Iterable over the read ends of a fragments file; each pass re-reads the file.

    Attributes:
        path: the file.
        block_bytes: bytes parsed at a time.
        tally: counts of the last pass: ``reads`` (two per fragment), ``fragments``.
    """

    option = "--fragments"
    layout = FRAGMENTS

    def __iter__(self) -> Iterator[ReadEnds]:
        for rows in self.parsed_blocks():
            self.tally["fragments"] += len(rows.codes)
            self.tally["reads"] += 2 * len(rows.codes)
            for chrom, rows_slice in chromosome_runs(rows):
                start, end = rows.start[rows_slice], rows.end[rows_slice]
                five = np.concatenate([start, end - 1])
                minus = np.repeat([False, True], len(start))
                yield ReadEnds(chrom, five, minus, f"line {rows.lines[rows_slice][0]}")


class BarcodedFragmentReads(TableReads):
    """Iterable over the parsed blocks of a single-cell fragments file.

    The blocks are :class:`~data_prep.reads.text_table.TableRows`, with barcodes; each pass re-reads the file.

    Attributes:
        path: the file.
        block_bytes: bytes parsed at a time.
        tally: counts of the last pass: ``fragments``.
    """

    option = "--fragments"
    layout = BARCODED_FRAGMENTS

    def blocks(self, on_read=None) -> Iterator[TableRows]:
        """The parsed blocks, read and parsed ahead in a background thread.

        ``on_read``: see :meth:`TableReads.parsed_blocks`; it is called from that thread.
        """
        for rows in prefetched(self.parsed_blocks(on_read)):
            self.tally["fragments"] += len(rows.codes)
            yield rows
