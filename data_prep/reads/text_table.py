"""Tab-separated read tables (tagAlign, fragments) parsed a block at a time.

A block is parsed by pandas' C reader when it is plain (no comment, blank or CR line); anything the
fast reader rejects is parsed again line by line by :func:`_parse_lines`, which defines the accepted
format and names the first bad line. Both paths give the same result on a valid block.
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
    """

    name: str
    fields: str
    min_fields: int
    strand_field: int | None
    hint: str


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
    """

    names: list[str]
    codes: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray | None
    lines: np.ndarray


def parse_block(block: bytes, first_line: int, path: pathlib.Path, layout: TableLayout) -> TableRows:
    """Parse a block of whole lines (see :mod:`data_prep.reads.text_blocks`) into :class:`TableRows`.

    Raises:
        InputError: naming ``path`` and the line, when a line has too few fields, a coordinate that is
            not a non-negative integer, or an end before its start.
    """
    if b"#" in block or b"\r" in block or b"\n\n" in block or block.startswith((b"\n", b"track", b"browser")):
        return _parse_lines(block, first_line, path, layout)
    columns = [0, 1, 2] + ([layout.strand_field] if layout.strand_field is not None else [])
    dtypes = {0: "category", 1: np.int64, 2: np.int64}
    if layout.strand_field is not None:
        dtypes[layout.strand_field] = "category"
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
    return TableRows(names=[str(c) for c in chrom.categories], codes=chrom.codes.to_numpy().astype(np.int32),
                     start=start.astype(np.int64), end=end.astype(np.int64), strand=strand,
                     lines=first_line + np.arange(len(table), dtype=np.int64))


def _parse_lines(block: bytes, first_line: int, path: pathlib.Path, layout: TableLayout) -> TableRows:
    """The line-by-line reference parser: the accepted format, and exact errors."""
    names: dict[str, int] = {}
    codes, starts, ends, strands, lines = [], [], [], [], []
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
    return TableRows(names=list(names), codes=np.array(codes, dtype=np.int32),
                     start=np.array(starts, dtype=np.int64), end=np.array(ends, dtype=np.int64),
                     strand=np.array(strands, dtype=np.int8) if layout.strand_field is not None else None,
                     lines=np.array(lines, dtype=np.int64))


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

    def parsed_blocks(self) -> Iterator[TableRows]:
        """The file's rows block by block; the counts start again with each pass."""
        self.tally = collections.Counter()
        for first_line, block in text_blocks(self.path, self.layout.name, self.block_bytes):
            yield parse_block(block, first_line, self.path, self.layout)
