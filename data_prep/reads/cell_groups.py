"""The table that assigns single-cell barcodes to groups (clusters, cell types, samples).

Accepted layouts (plain or gzip; tab-, comma- or semicolon-separated, told by the file name or the
first line; CSV quoting as R and pandas write it):

- two columns, barcode then group, with or without a header line (a header is recognised by a first
  field that is empty or a usual column name such as ``barcode``, ``cell`` or ``cell_id``);
- any table with a header, such as the cell metadata that ArchR (``getCellColData``), Signac/Seurat
  (``meta.data``) or scanpy (``adata.obs.to_csv``) export: ``group_column`` names the group column
  (``Clusters``, ``seurat_clusters``, ``leiden``, ``cell_type``...) and ``barcode_column`` the barcode
  column (default: the first, where those exports keep the cell names).

A column may also be given by its 1-based number. ``barcode_prefix`` keeps only the rows whose barcode
starts with it and removes it (ArchR names cells ``Sample#BARCODE``: ``--barcode-prefix 'Sample#'``).
Rows without a group (an empty field or ``NA``) are skipped and counted; a barcode in two groups is
an error.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import os
import pathlib
import re

import numpy as np

from data_prep.errors import InputError
from data_prep.reads.text_blocks import is_gzip

#: First fields that mark a header line of a two-column table (compared in lower case).
BARCODE_HEADER_NAMES = {"", "barcode", "barcodes", "cell", "cells", "cell_id", "cellid", "cell_barcode",
                        "cellbarcode", "cellname", "cellnames", "cell_name", "index", "obs_names", "x", "id"}
#: Group values that mean "no group" (R writes NA, pandas an empty field or nan).
MISSING_GROUPS = {"", "NA", "nan", "NaN", "None", "<NA>"}
#: Characters a group keeps in its file name; others become ``_``.
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@dataclasses.dataclass
class CellGroups:
    """Barcodes and their groups.

    Attributes:
        source: the table file.
        groups: group names in the order of their first row.
        barcodes: the barcodes (as they appear in the fragments: any prefix removed).
        group_of: int32 array (len(barcodes),), index into ``groups`` of each barcode.
        index: barcode -> its position in ``barcodes``.
        barcode_column: how the barcode column was found (for messages).
        group_column: how the group column was found.
        skipped_rows: rows without a group (or, with a prefix, of other samples), not used.
        header: the header line's fields (empty when the table has none).
    """

    source: pathlib.Path
    groups: list[str]
    barcodes: list[str]
    group_of: np.ndarray
    index: dict
    barcode_column: str
    group_column: str
    skipped_rows: int = 0
    header: list = dataclasses.field(default_factory=list)

    def cells_per_group(self) -> np.ndarray:
        """int64 array (len(groups),): barcodes of each group."""
        return np.bincount(self.group_of, minlength=len(self.groups))

    def file_stems(self) -> list[str]:
        """Each group's file name stem (:func:`group_file_stem`), in ``groups`` order."""
        return [group_file_stem(group) for group in self.groups]


def group_file_stem(group: str) -> str:
    """A file name for a group.

    Characters other than letters, digits and ``._+-`` become ``_`` (``CD14+ Mono`` -> ``CD14+_Mono``); a
    leading dot is dropped.
    """
    stem = _UNSAFE.sub("_", group).lstrip(".")
    return stem or "group"


def _text(path: pathlib.Path) -> str:
    opener = gzip.open if is_gzip(path) else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as error:
        raise InputError(f"--cell-groups file {path} cannot be read ({error}); copy it again") from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _delimiter(path: pathlib.Path, first_line: str) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return ","
    if name.endswith((".tsv", ".tab")):
        return "\t"
    for mark in ("\t", ",", ";"):
        if mark in first_line:
            return mark
    raise InputError(f"--cell-groups {path}: the first line {first_line[:80]!r} has one column; the table needs a "
                     "barcode column and a group column, separated by tabs or commas")


def _column(header: list[str], wanted: str, option: str, path: pathlib.Path) -> int:
    """Index of the column named ``wanted`` (or numbered, 1-based) in ``header``."""
    if wanted in header:
        return header.index(wanted)
    folded = [name.lower() for name in header]
    if wanted.lower() in folded:
        return folded.index(wanted.lower())
    if wanted.isdigit() and 1 <= int(wanted) <= len(header):
        return int(wanted) - 1
    shown = ", ".join(repr(name) for name in header[:20]) + (", ..." if len(header) > 20 else "")
    raise InputError(f"--cell-groups {path} has no column {wanted!r} ({option}); its columns are {shown}. Give one of "
                     f"these names (or a column number, 1 = first) to {option}")


def read_cell_groups(path: str | os.PathLike, *, barcode_column: str | None = None, group_column: str | None = None,
                     barcode_prefix: str | None = None) -> CellGroups:
    """Read a barcode -> group table (see the module docstring).

    Args:
        path: the table (plain or gzip).
        barcode_column: name (or 1-based number) of the barcode column; default the first.
        group_column: name (or number) of the group column; needed when the table has more than two
            columns, default the second.
        barcode_prefix: keep only rows whose barcode starts with this text, and remove it.

    Returns:
        :class:`CellGroups`.

    Raises:
        InputError: a missing or unreadable file, a table with one column, several columns and no
            ``group_column``, an unknown column name, a barcode in two groups (both lines named), or no
            row left.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"--cell-groups file {path} does not exist; give the barcode -> group table")
    text = _text(path)
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.startswith("#")]
    if not lines:
        raise InputError(f"--cell-groups {path} is empty; it needs one line per cell: barcode, group")
    delimiter = _delimiter(path, lines[0][1])
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines)), delimiter=delimiter))
    numbers = [number for number, _ in lines]
    first = [field.strip() for field in rows[0]]
    named = any(option is not None and not option.isdigit() for option in (barcode_column, group_column))
    if len(first) < 2:
        raise InputError(f"--cell-groups {path} line {numbers[0]}: {lines[0][1][:80]!r} has one column; the table "
                         "needs a barcode column and a group column")
    has_header = named or len(first) > 2 or first[0].lower() in BARCODE_HEADER_NAMES
    if len(first) > 2 and group_column is None:
        shown = ", ".join(repr(name) for name in first[:20]) + (", ..." if len(first) > 20 else "")
        raise InputError(f"--cell-groups {path} has {len(first)} columns ({shown}); name the one that holds the group "
                         "of each cell with --group-column (e.g. --group-column Clusters for ArchR, "
                         "seurat_clusters for Seurat/Signac, leiden for scanpy); the barcodes are read from the first "
                         "column unless --barcode-column names another")
    header = first if has_header else []
    if has_header:
        b = _column(first, barcode_column, "--barcode-column", path) if barcode_column else 0
        g = _column(first, group_column, "--group-column", path) if group_column else 1
        body, body_numbers = rows[1:], numbers[1:]
    else:
        b = int(barcode_column) - 1 if barcode_column else 0
        g = int(group_column) - 1 if group_column else 1
        body, body_numbers = rows, numbers
    groups: dict[str, int] = {}
    index: dict[str, int] = {}
    group_of: list[int] = []
    where: dict[str, int] = {}
    skipped = 0
    for number, row in zip(body_numbers, body):
        if len(row) <= max(b, g):
            raise InputError(f"--cell-groups {path} line {number} has {len(row)} fields; the barcode and group are "
                             f"read from fields {b + 1} and {g + 1}: {delimiter.join(row)[:80]!r}")
        barcode, group = row[b].strip(), row[g].strip()
        if barcode_prefix:
            if not barcode.startswith(barcode_prefix):
                skipped += 1
                continue
            barcode = barcode[len(barcode_prefix):]
        if group in MISSING_GROUPS or not barcode:
            skipped += 1
            continue
        code = groups.setdefault(group, len(groups))
        if barcode in index:
            earlier = list(groups)[group_of[index[barcode]]]
            if earlier != group:
                raise InputError(f"--cell-groups {path}: barcode {barcode} is in group {earlier!r} (line "
                                 f"{where[barcode]}) and in group {group!r} (line {number}); a cell belongs to one "
                                 "group: correct the table")
            continue
        index[barcode] = len(group_of)
        where[barcode] = number
        group_of.append(code)
    if not group_of:
        why = f" starting with --barcode-prefix {barcode_prefix!r}" if barcode_prefix else " with a group"
        raise InputError(f"--cell-groups {path} has no row{why} ({len(body)} rows read)")
    names = list(groups)  # a group is made by its first row, so each has a barcode
    stems: dict[str, str] = {}
    for name in names:
        stem = group_file_stem(name)
        if stem.lower() in stems:
            raise InputError(f"--cell-groups {path}: groups {stems[stem.lower()]!r} and {name!r} would both be written "
                             f"as {stem}.bw; rename one of them in the table")
        stems[stem.lower()] = name
    return CellGroups(source=path, groups=names, barcodes=list(index), group_of=np.array(group_of, dtype=np.int32),
                      index=index, barcode_column=header[b] if header else f"column {b + 1}",
                      group_column=header[g] if header else f"column {g + 1}", skipped_rows=skipped, header=header)
