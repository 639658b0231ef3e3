"""Which variants can be scored: every problem named with its line, then refused or skipped and counted.

A variant is *bad* for the first of these reasons that applies (``reason`` codes in brackets):

- [``allele``] an allele with a letter other than A, C, G, T (``N``, IUPAC codes, ``<DEL>``, ``*``,
  ``.``), or both alleles empty. An ``N`` is not a base: the model would see an all-zero column, not
  the variant (the official scorer refuses such alleles too).
- [``chromosome``] a chromosome the FASTA lacks. A name that matches only with a ``chr`` prefix
  added or removed (``1`` and ``chr1``) is renamed to the FASTA's and counted in a note; the
  official scorer adds ``chr`` to every name when none has it.
- [``too_long``] an allele longer than the right half of the window (``L - L // 2`` bases).
- [``chromosome_end``] the window leaves the chromosome: the official rule ``pos - L//2 > 0`` and
  ``pos + L//2 + deleted bases <= chromosome length`` (the official scorer drops these silently).
- [``reference``] ``allele1`` differs from the FASTA at ``pos`` (case-insensitive; an empty
  ``allele1`` is not checked). The official scorer checks this for indels only.
- [``duplicate``] the same chromosome, position and alleles as an earlier line (named).

:func:`find_bad_variants` lists them; :func:`apply_bad_variant_rule` refuses them all in one
message (the default) or, with ``skip_bad``, returns the good variants and the skipped ones with
their reasons, which the command writes to ``skipped_variants.tsv``: nothing is dropped silently.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from dream_keras.interpret.variants.chromosomes import ChromosomeReader
from dream_keras.interpret.variants.variant_files import shown_allele

REASONS = {
    "allele": "an allele that is not A/C/G/T",
    "chromosome": "a chromosome the FASTA lacks",
    "too_long": "an allele longer than the window's right half",
    "chromosome_end": "a window that leaves the chromosome",
    "reference": "a reference allele (allele1) that differs from the FASTA",
    "duplicate": "a duplicate of an earlier line",
}
_BASES = re.compile(r"^[ACGT]*$")
_LISTED = 5
_UPPER = np.uint8(0xDF)  # clears the lower-case bit of an ASCII letter


def _label(row) -> str:
    return f"{row.chr}:{row.pos} {shown_allele(row.allele1)}>{shown_allele(row.allele2)}"


def reconcile_chromosomes(table: pd.DataFrame, sizes: dict) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename chromosomes the FASTA lacks but has with ``chr`` added or removed; returns the renaming."""
    renamed = {}
    for name in pd.unique(table["chr"]):
        if name in sizes:
            continue
        other = name[3:] if name.startswith("chr") else "chr" + name
        if other in sizes:
            renamed[name] = other
    if renamed:
        table = table.assign(chr=table["chr"].replace(renamed))
    return table, renamed


def _reference_mismatches(reader: ChromosomeReader, table: pd.DataFrame, rows: np.ndarray) -> dict[int, str]:
    """``{row: FASTA bases}`` of the rows whose ``allele1`` differs from the FASTA."""
    found = {}
    frame = table.iloc[rows]
    for chrom, group in frame.groupby("chr", sort=False):
        bases = reader.sequence(chrom)
        index = rows[np.flatnonzero(frame["chr"].to_numpy() == chrom)]
        starts = group["pos"].to_numpy() - 1
        alleles = group["allele1"].tolist()
        single = np.array([len(a) == 1 for a in alleles])
        if single.any():
            genome = bases[starts[single]] & _UPPER
            given = np.frombuffer("".join(a for a, s in zip(alleles, single) if s).encode("ascii"), np.uint8)
            for i in np.flatnonzero(genome != given):
                found[int(index[single][i])] = chr(genome[i])
        for i in np.flatnonzero(~single):
            allele = alleles[i]
            genome = (bases[starts[i]:starts[i] + len(allele)] & _UPPER).tobytes().decode("ascii")
            if genome != allele:
                found[int(index[i])] = genome
    return found


def find_bad_variants(table: pd.DataFrame, reader: ChromosomeReader, input_length: int) -> pd.DataFrame:
    """The bad variants of ``table`` for windows of ``input_length``.

    ``table`` has the layout of :func:`~.variant_files.read_variant_list`, chromosomes already reconciled.

    Returns:
        DataFrame ``row`` (index into ``table``), ``line``, ``reason`` (a key of :data:`REASONS`) and
        ``detail`` (a sentence naming the variant), one row per bad variant, in table order.
    """
    sizes = reader.sizes
    flank, right_half = input_length // 2, input_length - input_length // 2
    problems: dict[int, tuple[str, str]] = {}
    rows = table.itertuples(index=False)
    lengths1 = table["allele1"].str.len().to_numpy()
    lengths2 = table["allele2"].str.len().to_numpy()
    deleted = np.maximum(lengths1 - lengths2, 0)
    for i, row in enumerate(rows):
        if not (_BASES.match(row.allele1) and _BASES.match(row.allele2)) or not (row.allele1 or row.allele2):
            bad = [f"{name} {shown_allele(allele)!r}" for name, allele in (("allele1", row.allele1),
                                                                         ("allele2", row.allele2))
                   if not _BASES.match(allele)] or ["both alleles empty"]
            problems[i] = ("allele", f"{_label(row)}: {', '.join(bad)} (only A, C, G, T and '-' for an empty "
                                     f"allele are scored; N is not a base)")
        elif row.chr not in sizes:
            problems[i] = ("chromosome", f"{_label(row)}: chromosome {row.chr} is not in the FASTA")
        elif max(lengths1[i], lengths2[i]) > right_half:
            problems[i] = ("too_long", f"{_label(row)}: an allele of {max(lengths1[i], lengths2[i])} bp does not fit "
                                       f"the {right_half} bp right half of the {input_length} bp window")
        elif row.pos - flank <= 0 or row.pos + flank + deleted[i] > sizes[row.chr]:
            problems[i] = ("chromosome_end", f"{_label(row)}: the {input_length} bp window leaves {row.chr} "
                                             f"(1..{sizes[row.chr]:,})")
    candidates = np.array([i for i in range(len(table)) if i not in problems and lengths1[i] > 0], dtype=np.int64)
    for i, genome in _reference_mismatches(reader, table, candidates).items():
        row = table.iloc[i]
        problems[i] = ("reference", f"{_label(row)}: the FASTA has {genome} at {row.chr}:{row.pos}")
    keys = table["chr"] + "\t" + table["pos"].astype(str) + "\t" + table["allele1"] + "\t" + table["allele2"]
    first_lines = {}
    for i, (key, line) in enumerate(zip(keys, table["line"])):
        if key in first_lines and i not in problems:
            problems[i] = ("duplicate", f"{_label(table.iloc[i])}: the same variant as line {first_lines[key]}")
        first_lines.setdefault(key, line)
    order = sorted(problems)
    return pd.DataFrame({"row": np.array(order, dtype=np.int64),
                         "line": table["line"].to_numpy()[order] if order else np.zeros(0, np.int64),
                         "reason": [problems[i][0] for i in order], "detail": [problems[i][1] for i in order]})


def describe_bad_variants(bad: pd.DataFrame) -> str:
    """Counts per reason, each with its first lines: ``2 with a duplicate of an earlier line (line 7: ...)``."""
    parts = []
    for reason, text in REASONS.items():
        group = bad[bad["reason"] == reason]
        if len(group):
            shown = "; ".join(f"line {line}: {detail}" for line, detail in
                              zip(group["line"][:_LISTED], group["detail"][:_LISTED]))
            more = f"; and {len(group) - _LISTED} more" if len(group) > _LISTED else ""
            parts.append(f"{len(group)} with {text} ({shown}{more})")
    return "; ".join(parts)


def apply_bad_variant_rule(table: pd.DataFrame, bad: pd.DataFrame, *, skip_bad: bool, source: str,
                           genome: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refuse the bad variants, or split them off.

    Returns:
        ``(good variants, skipped variants)``; the skipped ones carry ``reason`` and ``detail``.

    Raises:
        InputError: bad variants and not ``skip_bad``, naming each kind with its lines; or no
            variant left to score.
    """
    if len(bad) and not skip_bad:
        raise InputError(f"{len(bad)} of {len(table)} variant(s) of {source} cannot be scored against {genome}: "
                         f"{describe_bad_variants(bad)}. Fix them, or pass --skip-bad to skip them (they are then "
                         "counted and listed in OUT/skipped_variants.tsv)")
    keep = np.ones(len(table), dtype=bool)
    keep[bad["row"].to_numpy()] = False
    if not keep.any():
        raise InputError(f"none of the {len(table)} variant(s) of {source} can be scored: {describe_bad_variants(bad)}")
    skipped = table.iloc[bad["row"].to_numpy()].assign(reason=bad["reason"].to_numpy(),
                                                       detail=bad["detail"].to_numpy())
    return table[keep].reset_index(drop=True), skipped.reset_index(drop=True)


__all__ = ["REASONS", "apply_bad_variant_rule", "describe_bad_variants", "find_bad_variants",
           "reconcile_chromosomes"]
