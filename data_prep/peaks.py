"""Region files: narrowPeak (window centre = start + column 10) and BED3+ (centre = midpoint).

Both readers return a ``pandas.DataFrame`` with at least the columns ``chrom`` (str), ``start``,
``end`` (int64, 0-based half-open) and ``summit`` (int64, the absolute 0-based position that
windows are centred on). Every malformed line raises :class:`InputError` naming the file and line.
"""

from __future__ import annotations

import gzip
import os
import pathlib

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.outputs.atomic import atomic_path

#: The ten narrowPeak columns, as named in the DataFrame (column 10, the summit offset from
#: ``start``, becomes the absolute position ``summit``).
NARROWPEAK_COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal_value", "p_value",
                      "q_value", "summit"]
_NARROWPEAK_TEXT_COLUMNS = NARROWPEAK_COLUMNS[3:9]
_HEADER_PREFIXES = ("#", "track", "browser")


def _data_lines(path: pathlib.Path):
    """Yield (line number, tab-split fields) for the data lines of a (possibly gzipped) text file."""
    if not path.is_file():
        raise InputError(f"region file {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith(_HEADER_PREFIXES):
                continue
            yield number, line.split("\t")


def _integer(path, number, fields, column: int, what: str) -> int:
    text = fields[column]
    try:
        return int(text)
    except ValueError:
        # a word where a coordinate belongs is most often a column-name line
        header = " (this looks like a header line: remove the header line; narrowPeak and BED files have none)" \
            if not any(c.isdigit() for c in text) else ""
        raise InputError(f"{path}, line {number}: {what} (column {column + 1}) is {text!r}, not an integer; "
                         f"coordinates must be whole 0-based positions{header}") from None


def _coordinates(path, number, fields) -> tuple[int, int]:
    start = _integer(path, number, fields, 1, "start")
    end = _integer(path, number, fields, 2, "end")
    if start < 0:
        raise InputError(f"{path}, line {number}: start {start} is negative; BED coordinates start at 0")
    if end <= start:
        raise InputError(f"{path}, line {number}: end {end} is not after start {start}; "
                         "each region needs end > start")
    return start, end


def _column_count_error(path, number, fields, expected: str) -> InputError:
    hint = " (the columns look space-separated; use tabs)" if len(fields) == 1 and " " in fields[0] else ""
    return InputError(f"{path}, line {number}: found {len(fields)} tab-separated column(s), {expected}{hint}")


def read_narrowpeak(path: str | os.PathLike) -> pd.DataFrame:
    """Read a narrowPeak file (10 tab-separated columns, no header).

    Returns a DataFrame with :data:`NARROWPEAK_COLUMNS`: ``summit`` = start + column 10 (absolute
    position); columns 4-9 are kept as text. Raises :class:`InputError` for a line without exactly
    10 columns, non-integer coordinates or summit, a negative summit offset, a summit at or past
    the end, or a file without regions.
    """
    path = pathlib.Path(path)
    rows = []
    for number, fields in _data_lines(path):
        if len(fields) != 10:
            raise _column_count_error(path, number, fields,
                                      "a narrowPeak line has 10 (chrom, start, end, name, score, strand, "
                                      "signalValue, pValue, qValue, summit offset); for 3-column regions "
                                      "use a .bed file")
        start, end = _coordinates(path, number, fields)
        offset = _integer(path, number, fields, 9, "summit offset")
        if offset < 0:
            raise InputError(f"{path}, line {number}: summit offset {offset} is negative (MACS writes -1 "
                             "when it called no summit); fix column 10, or give a BED file to centre "
                             "windows on the region midpoints")
        if offset >= end - start:
            raise InputError(f"{path}, line {number}: summit offset {offset} is past the end of the "
                             f"{end - start} bp peak {fields[0]}:{start}-{end}; column 10 counts from start")
        rows.append((fields[0], start, end, *fields[3:9], start + offset))
    if not rows:
        raise InputError(f"narrowPeak file {path} has no regions")
    frame = pd.DataFrame(rows, columns=NARROWPEAK_COLUMNS)
    return frame.astype({"start": np.int64, "end": np.int64, "summit": np.int64})


def read_bed(path: str | os.PathLike) -> pd.DataFrame:
    """Read a BED3+ file (at least chrom, start, end; tab-separated; no header).

    Returns a DataFrame with ``chrom, start, end, name, summit`` where ``summit`` is the midpoint
    ``(start + end) // 2`` and ``name`` is column 4 (``"."`` where absent). Raises
    :class:`InputError` for a line with fewer than 3 columns, non-integer or negative coordinates,
    end not after start, or a file without regions.
    """
    path = pathlib.Path(path)
    rows = []
    for number, fields in _data_lines(path):
        if len(fields) < 3:
            raise _column_count_error(path, number, fields, "a BED line needs at least 3 (chrom, start, end)")
        start, end = _coordinates(path, number, fields)
        rows.append((fields[0], start, end, fields[3] if len(fields) > 3 else ".", (start + end) // 2))
    if not rows:
        raise InputError(f"BED file {path} has no regions")
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "summit"])
    return frame.astype({"start": np.int64, "end": np.int64, "summit": np.int64})


def read_regions(path: str | os.PathLike) -> pd.DataFrame:
    """Read a region file as narrowPeak when its first data line has 10 columns, else as BED3+."""
    path = pathlib.Path(path)
    first = next(_data_lines(path), None)
    if first is not None and len(first[1]) == 10:
        return read_narrowpeak(path)
    return read_bed(path)


def write_narrowpeak(regions: pd.DataFrame, path: str | os.PathLike) -> pathlib.Path:
    """Write regions as a 10-column narrowPeak file (atomically).

    ``regions`` needs ``chrom, start, end, summit`` (absolute); column 10 is written as
    ``summit - start``. Columns 4-9 come from the DataFrame where present, else ``"."`` (as the
    official ChromBPNet writes its background regions).
    """
    frame = pd.DataFrame({"chrom": regions["chrom"].astype(str),
                          "start": regions["start"].astype(np.int64),
                          "end": regions["end"].astype(np.int64)})
    for column in _NARROWPEAK_TEXT_COLUMNS:
        frame[column] = regions[column].astype(str) if column in regions else "."
    offset = regions["summit"].astype(np.int64) - frame["start"]
    bad = (offset < 0) | (offset >= frame["end"] - frame["start"])
    if bad.any():
        row = regions[bad.to_numpy()].iloc[0]
        raise InputError(f"cannot write {path}: summit {row['summit']} of {row['chrom']}:{row['start']}-"
                         f"{row['end']} lies outside its region")
    frame["offset"] = offset
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", header=False, index=False)
    return pathlib.Path(path)
