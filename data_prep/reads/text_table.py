"""Tab-separated read tables (tagAlign, fragments) parsed a block at a time.

A block is parsed by pandas' C reader when it is plain (no comment, blank or CR line); anything the
fast reader rejects is parsed again line by line by :func:`_parse_lines`, which defines the accepted
format and names the first bad line. A layout with a barcode column (single-cell fragments) is read
by pyarrow's CSV reader when pyarrow is installed (about three times faster there than pandas, whose
categorical strings are slow to build); whatever it rejects goes to pandas, then to the reference
parser. Every path gives the same result on a valid block.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import os
import pathlib
from typing import Iterator

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.reads.text_blocks import BLOCK_BYTES, text_blocks

SKIPPED_PREFIXES = (b"#", b"track", b"browser")


@dataclasses.dataclass(frozen=True)
class TableLayout:
    """What a read table holds.

    Attributes:
        name: format name for messages (``"tagAlign"``).
        fields: description of the leading fields for messages.
        min_fields: fewest tab-separated fields a line may have.
        strand_field: 0-based index of the strand field, or None (fragments have none).
        hint: what to do when a line does not fit (another format's option, say).
        barcode_field: 0-based index of a cell barcode field to read too, or None (not read).
    """

    name: str
    fields: str
    min_fields: int
    strand_field: int | None
    hint: str
    barcode_field: int | None = None


@dataclasses.dataclass
class TableRows:
    """Parsed rows of one block.

    Attributes:
        names: chromosome names; ``codes`` index into it.
        codes: int array (n,), chromosome of each row.
        start: int64 array (n,), BED start (0-based).
        end: int64 array (n,), BED end (exclusive).
        strand: int8 array (n,): 1 for ``+``, -1 for ``-``, 0 for anything else; None without strand.
        lines: int64 array (n,), 1-based line number of each row.
        barcodes: the block's distinct barcodes (``barcode_codes`` index into it); None when the
            layout reads no barcode.
        barcode_codes: int array (n,), barcode of each row; None without barcodes.
    """

    names: list[str]
    codes: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray | None
    lines: np.ndarray
    barcodes: list[str] | None = None
    barcode_codes: np.ndarray | None = None


def parse_block(block: bytes, first_line: int, path: pathlib.Path, layout: TableLayout) -> TableRows:
    """Parse a block of whole lines (see :mod:`data_prep.reads.text_blocks`) into :class:`TableRows`.

    Raises:
        InputError: naming ``path`` and the line, when a line has too few fields, a coordinate that is
            not a non-negative integer, or an end before its start.
    """
    # header lines at the top of a file (10x fragments start with '#' lines) keep the fast path for the rest
    while block.startswith(SKIPPED_PREFIXES) and b"\n" in block:
        block = block[block.index(b"\n") + 1:]
        first_line += 1
    if b"#" in block or b"\r" in block or b"\n\n" in block or block.startswith((b"\n", b"track", b"browser")):
        return _parse_lines(block, first_line, path, layout)
    if layout.barcode_field is not None and layout.strand_field is None:
        rows = _parse_barcoded_with_arrow(block, first_line, layout)
        if rows is not None:
            return rows
    columns = [0, 1, 2] + [field for field in (layout.strand_field, layout.barcode_field) if field is not None]
    dtypes = {0: "category", 1: np.int64, 2: np.int64}
    for field in (layout.strand_field, layout.barcode_field):
        if field is not None:
            dtypes[field] = "category"
    try:
        table = pd.read_csv(io.BytesIO(block), sep="\t", header=None, usecols=columns, dtype=dtypes,
                            na_filter=False, engine="c", quoting=3)
    except (ValueError, pd.errors.ParserError, IndexError, OverflowError):
        return _parse_lines(block, first_line, path, layout)
    start = table[1].to_numpy()
    end = table[2].to_numpy()
    if len(table) and (start.min() < 0 or (end < start).any()):
        return _parse_lines(block, first_line, path, layout)
    chrom = table[0].cat
    strand = None
    if layout.strand_field is not None:
        column = table[layout.strand_field].cat
        code_to_strand = np.array([1 if str(c).strip() == "+" else -1 if str(c).strip() == "-" else 0
                                   for c in column.categories],
                                  dtype=np.int8)
        strand = code_to_strand[column.codes.to_numpy()] if len(table) else np.zeros(0, np.int8)
    barcodes = barcode_codes = None
    if layout.barcode_field is not None:
        column = table[layout.barcode_field].cat
        barcodes = [str(c) for c in column.categories]
        barcode_codes = column.codes.to_numpy().astype(np.int32)
        if "" in barcodes or (len(barcode_codes) and barcode_codes.min() < 0):
            return _parse_lines(block, first_line, path, layout)  # a missing barcode: the line is named there
    return TableRows(names=[str(c) for c in chrom.categories], codes=chrom.codes.to_numpy().astype(np.int32),
                     start=start.astype(np.int64), end=end.astype(np.int64), strand=strand,
                     lines=first_line + np.arange(len(table), dtype=np.int64), barcodes=barcodes,
                     barcode_codes=barcode_codes)


def _arrow_csv():
    """Pyarrow's CSV module, or None when pyarrow is not installed."""
    try:
        import pyarrow
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow


def _parse_barcoded_with_arrow(block: bytes, first_line: int, layout: TableLayout) -> TableRows | None:
    """The chrom/start/end/barcode columns with pyarrow, or None.

    None when there is no pyarrow, or a block it rejects: uneven fields, a number that is not one, an empty
    barcode, an interval that is not one.
    """
    pa = _arrow_csv()
    if pa is None or not block:
        return None
    names = [f"f{i}" for i in range(layout.barcode_field + 1)]
    dictionary = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pa.csv.read_csv(
            pa.py_buffer(block),
            read_options=pa.csv.ReadOptions(autogenerate_column_names=True, use_threads=False,
                                            block_size=len(block) + 1),
            parse_options=pa.csv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pa.csv.ConvertOptions(include_columns=[names[0], names[1], names[2], names[-1]],
                                                  column_types={names[0]: dictionary, names[1]: pa.int64(),
                                                                names[2]: pa.int64(), names[-1]: dictionary}))
    except (pa.ArrowInvalid, pa.ArrowKeyError, KeyError, ValueError):
        return None
    chrom, barcode = (table.column(name).combine_chunks() for name in (names[0], names[-1]))
    start, end = table.column(names[1]).to_numpy(), table.column(names[2]).to_numpy()
    barcodes = barcode.dictionary.to_pylist()
    if "" in barcodes or (len(start) and (start.min() < 0 or (end < start).any())):
        return None
    return TableRows(names=chrom.dictionary.to_pylist(), codes=chrom.indices.to_numpy().astype(np.int32),
                     start=start.astype(np.int64), end=end.astype(np.int64), strand=None,
                     lines=first_line + np.arange(len(start), dtype=np.int64), barcodes=barcodes,
                     barcode_codes=barcode.indices.to_numpy().astype(np.int32))


def _parse_lines(block: bytes, first_line: int, path: pathlib.Path, layout: TableLayout) -> TableRows:
    """The line-by-line reference parser: the accepted format, and exact errors."""
    names: dict[str, int] = {}
    barcodes: dict[str, int] = {}
    codes, starts, ends, strands, lines, barcode_codes = [], [], [], [], [], []
    for offset, raw in enumerate(block.split(b"\n")):
        text = raw.rstrip(b"\r")
        if not text.strip() or text.startswith(SKIPPED_PREFIXES):
            continue
        number = first_line + offset
        fields = text.split(b"\t")
        shown = text[:100].decode("utf-8", "replace")
        if len(fields) < layout.min_fields:
            raise InputError(f"{path} line {number}: a {layout.name} line has at least {layout.min_fields} "
                             f"tab-separated fields ({layout.fields}); this one has {len(fields)}: {shown!r}. "
                             f"{layout.hint}")
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise InputError(f"{path} line {number}: start and end must be whole numbers, not "
                             f"{fields[1][:20].decode('utf-8', 'replace')!r} and "
                             f"{fields[2][:20].decode('utf-8', 'replace')!r}: {shown!r}. {layout.hint}") from None
        if start < 0 or end < start:
            raise InputError(f"{path} line {number}: start {start} and end {end} do not make an interval "
                             f"(0 <= start <= end): {shown!r}")
        chrom = fields[0].decode("utf-8", "replace")
        codes.append(names.setdefault(chrom, len(names)))
        starts.append(start)
        ends.append(end)
        lines.append(number)
        if layout.strand_field is not None:
            mark = fields[layout.strand_field].strip()
            strands.append(1 if mark == b"+" else -1 if mark == b"-" else 0)
        if layout.barcode_field is not None:
            barcode = fields[layout.barcode_field].decode("utf-8", "replace")
            if not barcode:
                raise InputError(f"{path} line {number}: the barcode field (field {layout.barcode_field + 1}) is "
                                 f"empty: {shown!r}. {layout.hint}")
            barcode_codes.append(barcodes.setdefault(barcode, len(barcodes)))
    with_barcodes = layout.barcode_field is not None
    return TableRows(names=list(names), codes=np.array(codes, dtype=np.int32),
                     start=np.array(starts, dtype=np.int64), end=np.array(ends, dtype=np.int64),
                     strand=np.array(strands, dtype=np.int8) if layout.strand_field is not None else None,
                     lines=np.array(lines, dtype=np.int64), barcodes=list(barcodes) if with_barcodes else None,
                     barcode_codes=np.array(barcode_codes, dtype=np.int32) if with_barcodes else None)


def chromosome_runs(rows: TableRows) -> list[tuple[str, slice]]:
    """Split rows into runs of consecutive rows on one chromosome: ``[(chrom, row_slice), ...]``."""
    if not len(rows.codes):
        return []
    cuts = np.flatnonzero(rows.codes[1:] != rows.codes[:-1]) + 1
    bounds = np.concatenate([[0], cuts, [len(rows.codes)]])
    return [(rows.names[rows.codes[a]], slice(int(a), int(b))) for a, b in zip(bounds[:-1], bounds[1:])]


class TableReads:
    """Base of the readers of tab-separated read files (fragments, tagAlign).

    The file, the bytes parsed at a time and the counts of the last pass; a subclass sets ``layout`` and ``option`` and
    turns :meth:`parsed_blocks` into read ends.
    """

    layout: TableLayout
    option: str = ""

    def __init__(self, path: str | os.PathLike, block_bytes: int = BLOCK_BYTES):
        self.path = pathlib.Path(path)
        self.block_bytes = block_bytes
        self.tally: collections.Counter = collections.Counter()

    def parsed_blocks(self, on_read=None) -> Iterator[TableRows]:
        """The file's rows block by block; the counts start again with each pass.

        Args:
            on_read: passed to :func:`~data_prep.reads.text_blocks.text_blocks` (progress).
        """
        self.tally = collections.Counter()
        for first_line, block in text_blocks(self.path, self.layout.name, self.block_bytes, on_read=on_read):
            yield parse_block(block, first_line, self.path, self.layout)
