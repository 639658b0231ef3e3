"""Variant lists: a VCF or one of the official variant scorer's tab-separated schemas, read into one table.

The official scorer (kundajelab/variant-scorer, ``--schema``) reads headerless tab-separated
files whose columns are, per schema:

- ``chrombpnet``: ``chr pos allele1 allele2 variant_id`` (its default)
- ``bed``: ``chr pos end allele1 allele2 variant_id`` with ``pos`` 0-based (BED start)
- ``plink``: ``chr variant_id ignore pos allele1 allele2``
- ``original``: ``chr pos variant_id allele1 allele2``

``pos`` is 1-based except in ``bed``; ``allele1`` is the reference allele and ``allele2`` the
alternate one; ``-`` stands for an empty allele (an insertion's ``allele1``, a deletion's
``allele2``). A VCF (``vcf``; plain or gzip/bgzip) gives ``CHROM POS ID REF ALT``: ``REF`` is
``allele1``, every comma-separated ``ALT`` a row of its own with the same line number, and an ID of
``.`` becomes ``chr:pos:allele1:allele2``. ``auto`` (the default) reads a file named ``*.vcf`` /
``*.vcf.gz`` or starting with ``##fileformat=VCF`` as a VCF and anything else as ``chrombpnet``.

Lines that are empty or start with ``#`` are skipped. A line with the wrong number of columns or
a position that is not an integer stops the reading with the file and line named; alleles are
only read here (upper-cased) and judged by :mod:`~dream_keras.interpret.variants.variant_checks`.
"""

from __future__ import annotations

import gzip
import os
import pathlib

import numpy as np
import pandas as pd

from data_prep.errors import InputError

#: columns of each official schema (``ignore*`` columns are read and dropped)
SCHEMA_COLUMNS = {
    "chrombpnet": ("chr", "pos", "allele1", "allele2", "variant_id"),
    "bed": ("chr", "pos", "end", "allele1", "allele2", "variant_id"),
    "plink": ("chr", "variant_id", "ignore1", "pos", "allele1", "allele2"),
    "original": ("chr", "pos", "variant_id", "allele1", "allele2"),
}
SCHEMAS = ("auto", "vcf", *SCHEMA_COLUMNS)
DEFAULT_SCHEMA = "auto"
#: the columns of a variant table, in the order the official output files give them
VARIANT_COLUMNS = ["chr", "pos", "allele1", "allele2", "variant_id"]
#: how an empty allele is written in the official files (and in ours)
EMPTY_ALLELE = "-"


def _open_text(path: pathlib.Path):
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"  # gzip and bgzip
    return gzip.open(path, "rt") if compressed else open(path)


def _allele(text: str) -> str:
    text = text.strip().upper()
    return "" if text == EMPTY_ALLELE else text


def _position(text: str, where: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not an integer position") from None


def resolve_schema(path: str | os.PathLike, schema: str = DEFAULT_SCHEMA) -> str:
    """The schema ``auto`` stands for (``vcf`` or ``chrombpnet``), or ``schema`` itself.

    Raises:
        InputError: an unknown schema, or a file that does not exist.
    """
    path = pathlib.Path(path)
    if schema not in SCHEMAS:
        raise InputError(f"unknown variant schema {schema!r}; choose one of {', '.join(SCHEMAS)}")
    if not path.is_file():
        raise InputError(f"variant file {path} does not exist; give a VCF or a variant list "
                         f"(--schema {'/'.join(SCHEMA_COLUMNS)})")
    if schema != "auto":
        return schema
    if path.name.endswith((".vcf", ".vcf.gz", ".vcf.bgz")):
        return "vcf"
    with _open_text(path) as handle:
        return "vcf" if handle.readline().startswith("##fileformat=VCF") else "chrombpnet"


def _rows_of_vcf(handle, path: pathlib.Path):
    for number, line in enumerate(handle, start=1):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        where = f"{path}, line {number}"
        if len(fields) < 5:
            raise InputError(f"{where}: a VCF line needs at least 5 tab-separated columns (CHROM POS ID REF ALT); "
                             f"found {len(fields)}. Is this a variant list of another --schema?")
        chrom, pos = fields[0], _position(fields[1], where, "POS")
        ref = _allele(fields[3])
        for alt in fields[4].split(","):
            alt = _allele(alt)
            name = fields[2] if fields[2] not in ("", ".") else f"{chrom}:{pos}:{ref or '-'}:{alt or '-'}"
            yield chrom, pos, ref, alt, name, number


def _rows_of_schema(handle, path: pathlib.Path, schema: str):
    columns = SCHEMA_COLUMNS[schema]
    index = {name: i for i, name in enumerate(columns)}
    for number, line in enumerate(handle, start=1):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        where = f"{path}, line {number}"
        if len(fields) != len(columns):
            raise InputError(f"{where}: the {schema!r} schema has {len(columns)} tab-separated columns "
                             f"({' '.join(columns)}), this line has {len(fields)}; choose the file's --schema "
                             f"({', '.join(SCHEMAS[1:])})")
        pos = _position(fields[index["pos"]], where, "pos")
        if schema == "bed":
            pos += 1  # BED starts are 0-based; positions here are 1-based, as in the official scorer
        yield (fields[index["chr"]].strip(), pos, _allele(fields[index["allele1"]]),
               _allele(fields[index["allele2"]]), fields[index["variant_id"]].strip(), number)


def read_variant_list(path: str | os.PathLike, schema: str = DEFAULT_SCHEMA) -> pd.DataFrame:
    """Read a VCF or an official-schema variant list.

    Args:
        path: the file (plain or gzip/bgzip compressed).
        schema: ``auto``, ``vcf``, ``chrombpnet``, ``bed``, ``plink`` or ``original`` (module docstring).

    Returns:
        DataFrame, one row per variant and alternate allele, in file order: ``chr`` (str), ``pos``
        (int64, 1-based), ``allele1``, ``allele2`` (upper case; ``""`` for an empty allele),
        ``variant_id`` (str) and ``line`` (the 1-based line of the file).

    Raises:
        InputError: naming the file and line of a line with the wrong number of columns or a
            position that is not an integer; a file without variants.
    """
    path = pathlib.Path(path)
    schema = resolve_schema(path, schema)
    with _open_text(path) as handle:
        try:
            rows = list(_rows_of_vcf(handle, path) if schema == "vcf" else _rows_of_schema(handle, path, schema))
        except UnicodeDecodeError as error:
            raise InputError(f"variant file {path} is not text ({error}); give a VCF or a tab-separated "
                             "variant list") from None
    if not rows:
        raise InputError(f"variant file {path} holds no variants (read as {schema!r})")
    table = pd.DataFrame(rows, columns=[*VARIANT_COLUMNS, "line"])
    return table.astype({"pos": np.int64, "line": np.int64})


def variant_table(variants) -> pd.DataFrame:
    """A DataFrame in the layout of :func:`read_variant_list` from a DataFrame of variants.

    The input has ``chr`` (or ``chrom``), ``pos`` (1-based) and ``allele1``/``allele2`` (or ``ref``/``alt``);
    ``variant_id`` (or ``id``) is made when absent and ``line`` is the row number (1-based).
    """
    frame = pd.DataFrame(variants).rename(columns={"chrom": "chr", "ref": "allele1", "alt": "allele2",
                                                   "id": "variant_id"})
    missing = [c for c in ("chr", "pos", "allele1", "allele2") if c not in frame]
    if missing:
        raise InputError(f"variants lack the column(s) {missing}; give chr/chrom, pos (1-based), allele1/ref and "
                         f"allele2/alt (or a file path)")
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame({"chr": frame["chr"].astype(str), "pos": frame["pos"].astype(np.int64),
                        "allele1": [_allele(str(a)) for a in frame["allele1"]],
                        "allele2": [_allele(str(a)) for a in frame["allele2"]]})
    if "variant_id" in frame:
        out["variant_id"] = frame["variant_id"].astype(str)
    else:
        out["variant_id"] = [f"{c}:{p}:{a or '-'}:{b or '-'}" for c, p, a, b in
                             zip(out["chr"], out["pos"], out["allele1"], out["allele2"])]
    out["line"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out[[*VARIANT_COLUMNS, "line"]]


def shown_allele(allele: str) -> str:
    """An allele as the output files write it: ``-`` for an empty one."""
    return allele or EMPTY_ALLELE


__all__ = ["DEFAULT_SCHEMA", "SCHEMAS", "SCHEMA_COLUMNS", "VARIANT_COLUMNS", "read_variant_list", "resolve_schema",
           "shown_allele", "variant_table"]
