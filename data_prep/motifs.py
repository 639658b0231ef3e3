"""Position probability matrices from MEME motif files, and the motif files shipped with the package."""

from __future__ import annotations

import os
import pathlib
from importlib import resources
from typing import NamedTuple

import numpy as np

from data_prep.errors import InputError


class Motif(NamedTuple):
    """One MEME motif.

    Attributes:
        identifier: e.g. ``MA0139.2``.
        name: e.g. ``CTCF``, or the identifier when the file gives none.
        probabilities: float64 ``(width, 4)`` in ACGT order.
    """

    identifier: str
    name: str
    probabilities: np.ndarray


def bundled_motif_path(name: str = "jaspar2024_atac.meme") -> pathlib.Path:
    """Path of a motif file shipped in ``data_prep/data/motifs``.

    Path of a motif file shipped in ``data_prep/data/motifs`` (``jaspar2024_atac.meme``: ten JASPAR 2024 vertebrate
    motifs; ``chrombpnet_bias_motifs.meme``: the TN5_*/DNASE_* bias motifs).
    """
    path = pathlib.Path(str(resources.files("data_prep") / "data" / "motifs" / name))
    if not path.is_file():
        raise InputError(f"no bundled motif file {name}; bundled: "
                         f"{', '.join(sorted(p.name for p in path.parent.glob('*.meme')))}")
    return path


def read_meme(path: str | os.PathLike) -> list[Motif]:
    """Read the letter-probability matrices of a MEME (minimal) motif file (alphabet ACGT).

    Raises :class:`InputError` naming the line for a row without 4 numbers, a row that does not
    sum to 1 (+/- 0.02), a matrix whose row count differs from its ``w=``, or a file without motifs.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"motif file {path} does not exist")
    lines = path.read_text().splitlines()
    motifs = []
    index = 0
    identifier = name = None
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if line.startswith("MOTIF"):
            fields = line.split()
            identifier = fields[1] if len(fields) > 1 else f"motif_{len(motifs) + 1}"
            name = fields[2] if len(fields) > 2 else identifier
        elif line.startswith("letter-probability matrix"):
            if identifier is None:
                raise InputError(f"{path}, line {index}: a matrix without a MOTIF line before it")
            settings = dict(item.split("=") for item in line.split(":", 1)[1].replace("= ", "=").split() if "=" in item)
            width = int(settings.get("w", 0))
            rows = []
            while index < len(lines) and lines[index].strip() and (width == 0 or len(rows) < width):
                text = lines[index].strip()
                if text.startswith(("MOTIF", "URL")):
                    break
                try:
                    row = [float(value) for value in text.split()]
                except ValueError:
                    row = []
                if len(row) != 4 or abs(sum(row) - 1) > 0.02:
                    raise InputError(f"{path}, line {index + 1}: expected 4 probabilities summing to 1, found {text!r}")
                rows.append(row)
                index += 1
            if not rows or (width and len(rows) != width):
                raise InputError(f"{path}: motif {identifier} declares w={width} but has {len(rows)} rows")
            probabilities = np.asarray(rows, dtype=np.float64)
            motifs.append(Motif(identifier, name, probabilities / probabilities.sum(axis=1, keepdims=True)))
            identifier = None
    if not motifs:
        raise InputError(f"{path} holds no MEME letter-probability matrices")
    return motifs
