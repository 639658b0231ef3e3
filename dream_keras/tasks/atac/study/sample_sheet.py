"""The sample sheet of ``dream-keras pipeline --samples``: one row per sample.

A tab- or comma-separated table with a header (``#`` lines and blank lines are skipped). Columns,
in any order (names in any case, ``-`` or ``_``):

``name`` (or ``sample``)
    the sample's name: its folder in the study (letters, digits, ``.``, ``_``, ``+``, ``-``).
one signal column
    ``bigwig`` (per-base insertion counts), ``bam``, ``fragments``, ``tagalign``, or ``reads`` (the
    format read from the file name: ``.bam``, ``.bw``/``.bigWig``, ``.tagAlign[.gz]``, other text:
    fragments). A sheet may have several of these columns; each row fills exactly one.
``peaks``
    the sample's peaks (narrowPeak); may be left out when ``--peaks`` gives one set for every sample.
``nonpeaks``, ``bias_model`` (optional)
    the sample's own background regions or trained bias model (empty: made / trained or shared).

Relative paths are read from the sheet's folder, so a sheet travels with its data (the
``samples.tsv`` that ``prep bigwig --cell-groups`` writes names the bigWigs beside it).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import pathlib
import re

from data_prep.errors import InputError

SIGNAL_COLUMNS = ("bigwig", "bam", "fragments", "tagalign")
FILE_COLUMNS = ("peaks", "nonpeaks", "bias_model")
_NAME = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$")
_ALIASES = {"sample": "name", "biasmodel": "bias_model", "bias": "bias_model", "bw": "bigwig",
            "tag_align": "tagalign", "nonpeak": "nonpeaks", "peak": "peaks"}


@dataclasses.dataclass(frozen=True)
class SampleRow:
    """One sample of the sheet; paths are absolute.

    Attributes:
        name: the sample's name (its folder).
        signal: ``bigwig``, ``bam``, ``fragments`` or ``tagalign``.
        path: the signal file.
        peaks: its peaks, or None (then ``--peaks``).
        nonpeaks: its background regions, or None.
        bias_model: its own bias model, or None.
        line: the sheet line, for messages.
    """

    name: str
    signal: str
    path: str
    peaks: str | None
    nonpeaks: str | None
    bias_model: str | None
    line: int


@dataclasses.dataclass(frozen=True)
class SampleSheet:
    """A read sample sheet: its file and its rows in order."""

    path: pathlib.Path
    rows: tuple

    def names(self) -> list[str]:
        """The samples' names, in the sheet's order.

        Returns:
            One name per row.
        """
        return [row.name for row in self.rows]

    def row(self, name: str) -> SampleRow:
        """The row called ``name``; raises :class:`InputError` naming the sheet's samples otherwise."""
        for row in self.rows:
            if row.name == name:
                return row
        raise InputError(f"sample {name!r} is not in {self.path}; its samples are {', '.join(self.names())}")


def signal_of_file(path: str) -> str:
    """The signal kind of a ``reads`` column's file, from its name."""
    name = path.lower().removesuffix(".gz")
    if name.endswith(".bam") or name.endswith(".sam"):
        return "bam"
    if name.endswith((".bw", ".bigwig")):
        return "bigwig"
    if name.endswith((".tagalign", ".tagalign.txt")):
        return "tagalign"
    return "fragments"


def _column_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, _ALIASES.get(key.replace("_", ""), key))


def read_sample_sheet(path: str | os.PathLike) -> SampleSheet:
    """Read and check a sample sheet (see the module docstring).

    Raises:
        InputError: a missing file, no ``name`` or signal column, a row with no or two signals, a bad
            or repeated name, or a named file that does not exist (each with its line and column).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"--samples {path} does not exist; give the sample sheet (a TSV with name, signal and "
                         "peaks columns)")
    lines = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) < 2:
        raise InputError(f"--samples {path} needs a header line and at least one sample line")
    delimiter = "," if path.suffix.lower() == ".csv" or ("\t" not in lines[0][1] and "," in lines[0][1]) else "\t"
    table = list(csv.reader(io.StringIO("\n".join(line for _, line in lines)), delimiter=delimiter))
    header = [_column_name(name) for name in table[0]]
    known = {"name", "reads", *SIGNAL_COLUMNS, *FILE_COLUMNS}
    unknown = [table[0][i] for i, name in enumerate(header) if name not in known]
    if unknown:
        raise InputError(f"--samples {path}: unknown column(s) {', '.join(repr(u) for u in unknown)}; the columns are "
                         f"name, one of bigwig/bam/fragments/tagalign/reads, peaks, and optionally nonpeaks, "
                         "bias_model")
    if "name" not in header:
        raise InputError(f"--samples {path}: the header {lines[0][1]!r} has no 'name' column")
    if not any(c in header for c in ("reads", *SIGNAL_COLUMNS)):
        raise InputError(f"--samples {path}: the header {lines[0][1]!r} has no signal column (bigwig, bam, fragments, "
                         "tagalign or reads)")
    rows, seen = [], {}
    for (number, _), fields in zip(lines[1:], table[1:]):
        values = {name: (fields[i].strip() if i < len(fields) else "") for i, name in enumerate(header)}
        where = f"--samples {path} line {number}"
        name = values["name"]
        if not _NAME.match(name):
            raise InputError(f"{where}: sample name {name!r} must be letters, digits, '.', '_', '+' or '-' (it names "
                             "the sample's folder), not starting with '.'")
        if name in seen:
            raise InputError(f"{where}: sample {name!r} is also on line {seen[name]}; give each sample one row")
        seen[name] = number
        signals = [(c, values[c]) for c in ("reads", *SIGNAL_COLUMNS) if values.get(c)]
        if len(signals) != 1:
            raise InputError(f"{where}: sample {name!r} has {len(signals)} signal files "
                             f"({', '.join(c for c, _ in signals) or 'none'}); give exactly one (bigwig, bam, "
                             "fragments, tagalign or reads)")
        column, value = signals[0]
        files = {}
        for key, text in ((column, value), *((c, values.get(c, "")) for c in FILE_COLUMNS)):
            if not text:
                files[key] = None
                continue
            resolved = (path.parent / text).resolve() if not os.path.isabs(text) else pathlib.Path(text)
            if not resolved.is_file():
                raise InputError(f"{where}: {key} {text} of sample {name!r} does not exist (looked for {resolved}; "
                                 "relative paths are read from the sheet's folder)")
            files[key] = str(resolved)
        signal = signal_of_file(value) if column == "reads" else column
        rows.append(SampleRow(name=name, signal=signal, path=files[column], peaks=files["peaks"],
                              nonpeaks=files["nonpeaks"], bias_model=files["bias_model"], line=number))
    return SampleSheet(path=path.resolve(), rows=tuple(rows))
