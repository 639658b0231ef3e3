"""chrom.sizes files: ``name<TAB>length`` per line (UCSC ``fetchChromSizes`` format)."""

from __future__ import annotations

import os
import pathlib
from typing import Mapping

from data_prep.errors import InputError


def read_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Read a chrom.sizes file -> ``{chromosome: length}`` in file order.

    Extra columns are ignored; blank lines and ``#`` comments are skipped. A line without a name
    and a positive integer length, or a chromosome listed twice, raises :class:`InputError`.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"chrom.sizes file {path} does not exist")
    sizes: dict[str, int] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 2:
            raise InputError(f"{path}, line {number}: expected 'name<TAB>length', found {line!r}")
        name, length = fields[0], fields[1]
        try:
            size = int(length)
        except ValueError:
            size = 0
        if size <= 0:
            raise InputError(f"{path}, line {number}: length {length!r} of {name} is not a positive integer")
        if name in sizes:
            raise InputError(f"{path}, line {number}: chromosome {name} is listed twice")
        sizes[name] = size
    if not sizes:
        raise InputError(f"chrom.sizes file {path} lists no chromosomes")
    return sizes


def as_chrom_sizes(chrom_sizes: str | os.PathLike | Mapping[str, int]) -> dict[str, int]:
    """A chrom.sizes path or an existing mapping -> ``{chromosome: length}``."""
    if isinstance(chrom_sizes, Mapping):
        return {str(name): int(size) for name, size in chrom_sizes.items()}
    return read_chrom_sizes(chrom_sizes)
