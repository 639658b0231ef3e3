"""Chromosome folds: ``{"train": [...], "valid": [...], "test": [...]}``.

The five standard ChromBPNet hg38 folds ship as package data (``data_prep/folds/hg38_fold_N.json``);
``load_fold("hg38", 0)`` reads one of them and ``load_fold("path/fold.json")`` reads any file.
"""

from __future__ import annotations

import json
import os
import pathlib
from importlib import resources
from typing import Iterable, Mapping

import pandas as pd

from data_prep.chrom_sizes import as_chrom_sizes
from data_prep.errors import InputError
from data_prep.genome import opened_genome
from data_prep.outputs.atomic import write_text_atomic
from data_prep.signal import opened_signal

SPLITS = ("train", "valid", "test")
#: Genomes whose standard folds ship with the package, and how many folds each has.
BUNDLED_FOLDS = {"hg38": 5}


def bundled_fold_path(genome: str, number: int) -> pathlib.Path:
    """Path of the packaged fold file for ``genome`` (e.g. ``"hg38"``) and fold ``number``."""
    if genome not in BUNDLED_FOLDS:
        raise InputError(f"no bundled folds for genome {genome!r}; bundled: {sorted(BUNDLED_FOLDS)}. "
                         "Give a fold JSON path instead, or make one with data_prep.make_splits")
    if not 0 <= int(number) < BUNDLED_FOLDS[genome]:
        raise InputError(f"fold {number} of {genome} does not exist; folds are numbered 0 to "
                         f"{BUNDLED_FOLDS[genome] - 1}")
    return pathlib.Path(str(resources.files("data_prep") / "folds" / f"{genome}_fold_{int(number)}.json"))


def load_fold(fold: str | os.PathLike, number: int | None = None) -> dict[str, list[str]]:
    """Read a fold.

    ``load_fold("hg38", 0)`` (or ``load_fold("hg38:0")``) reads a bundled fold;
    ``load_fold("path/fold_0.json")`` reads a file. Returns ``{"train": [...], "valid": [...],
    "test": [...]}``. Raises :class:`InputError` for a missing file, invalid JSON, a missing
    split, a non-list split, or a chromosome in two splits.
    """
    text = os.fspath(fold)
    if number is None and ":" in text and not pathlib.Path(text).exists():
        text, _, number_text = text.partition(":")
        if number_text.isdigit():
            number = int(number_text)
    if number is not None:
        path = bundled_fold_path(text, number)
    else:
        path = pathlib.Path(text)
        if not path.is_file():
            hint = f" (for a bundled fold give its number: load_fold({text!r}, 0))" if text in BUNDLED_FOLDS else ""
            raise InputError(f"fold file {path} does not exist{hint}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"fold file {path} is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise InputError(f"fold file {path} must hold an object with 'train', 'valid' and 'test' lists")
    fold_dict = {}
    for split in SPLITS:
        chroms = data.get(split)
        if not isinstance(chroms, list) or not all(isinstance(c, str) for c in chroms):
            raise InputError(f"fold file {path}: '{split}' must be a list of chromosome names, found {chroms!r}")
        fold_dict[split] = list(chroms)
    _check_disjoint(fold_dict, str(path))
    return fold_dict


def _check_disjoint(fold: Mapping[str, Iterable[str]], source: str) -> None:
    seen: dict[str, str] = {}
    for split in SPLITS:
        for chrom in fold.get(split, []):
            if chrom in seen:
                where = "twice" if seen[chrom] == split else f"in both '{seen[chrom]}' and '{split}'"
                raise InputError(f"{source}: chromosome {chrom} is {where}; each chromosome belongs to one split")
            seen[chrom] = split


def make_splits(chrom_sizes, test: Iterable[str], valid: Iterable[str]) -> dict[str, list[str]]:
    """A new fold.

    The given test and valid chromosomes, and every other chromosome of ``chrom_sizes`` (a chrom.sizes path or a
    ``{name: length}`` mapping) for training, in file order.
    """
    sizes = as_chrom_sizes(chrom_sizes)
    source = str(chrom_sizes) if not isinstance(chrom_sizes, Mapping) else "the chromosome sizes"
    test, valid = list(test), list(valid)
    for split, chroms in (("test", test), ("valid", valid)):
        if not chroms:
            raise InputError(f"the {split} split is empty; name at least one {split} chromosome")
        for chrom in chroms:
            if chrom not in sizes:
                raise InputError(f"{split} chromosome {chrom} is not in {source}; "
                                 f"its chromosomes are {', '.join(list(sizes)[:30])}")
    fold = {"train": [c for c in sizes if c not in test and c not in valid], "valid": valid, "test": test}
    _check_disjoint(fold, "the requested split")
    return fold


def write_fold(path: str | os.PathLike, fold: Mapping[str, Iterable[str]]) -> pathlib.Path:
    """Write a fold as JSON (atomically: a temporary file renamed into place)."""
    fold = {split: list(fold[split]) for split in SPLITS}
    _check_disjoint(fold, f"fold for {path}")
    return write_text_atomic(path, json.dumps(fold, indent=4) + "\n")


def _chromosome_names(source) -> tuple[set[str], str]:
    """Names and a display name from a FASTA/bigWig path, an open pyfaidx/pyBigWig object or names."""
    if source is None:
        return set(), ""
    if hasattr(source, "chroms") and callable(source.chroms):  # an open pyBigWig
        return set(source.chroms()), "the bigWig"
    if hasattr(source, "keys") and hasattr(source, "faidx"):  # an open pyfaidx.Fasta
        return set(source.keys()), str(source.filename)
    if isinstance(source, (str, os.PathLike)):
        path = pathlib.Path(source)
        if path.suffix.lower() in (".bw", ".bigwig"):
            with opened_signal(path) as bigwig:
                return set(bigwig.chroms()), str(path)
        with opened_genome(path) as fasta:
            return set(fasta.keys()), str(path)
    return set(source), "the given chromosome list"


def check_fold(fold: Mapping[str, Iterable[str]], *, genome=None, signal=None, source: str = "the fold") -> None:
    """Check a fold against the data.

    No chromosome in two splits, and every fold chromosome is in the FASTA (``genome``) and the bigWig (``signal``).
    Each of those may be a path, an open pyfaidx/pyBigWig object or a collection of names. Raises :class:`InputError`
    naming the first offending chromosome and the file that lacks it.
    """
    _check_disjoint(fold, source)
    for data in (genome, signal):
        names, name = _chromosome_names(data)
        if data is None:
            continue
        for split in SPLITS:
            for chrom in fold.get(split, []):
                if chrom not in names:
                    raise InputError(f"{source} puts chromosome {chrom} in '{split}', but {name} has no {chrom}; "
                                     "use a fold made for this genome (data_prep.make_splits / "
                                     "`dream-keras prep splits`)")


def split_of(regions: pd.DataFrame, fold: Mapping[str, Iterable[str]]) -> pd.Series:
    """The split ('train', 'valid', 'test', or '' for chromosomes outside the fold) of each region."""
    lookup = {chrom: split for split in SPLITS for chrom in fold.get(split, [])}
    return regions["chrom"].map(lookup).fillna("").astype(str)
