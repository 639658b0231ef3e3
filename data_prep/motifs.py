"""Position probability matrices from MEME motif files, and the motif files shipped with the package."""

from __future__ import annotations

import gzip
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

    The files: ``jaspar2024_atac.meme``: ten JASPAR 2024 vertebrate motifs; ``chrombpnet_bias_motifs.meme``:
    the TN5_*/DNASE_* bias motifs; ``motif_database.meme.gz``: those bias motifs and JASPAR 2024 CORE
    vertebrates non-redundant, see NOTICE.txt beside it.
    """
    path = pathlib.Path(str(resources.files("data_prep") / "data" / "motifs" / name))
    if not path.is_file():
        raise InputError(f"no bundled motif file {name}; bundled: "
                         f"{', '.join(sorted(p.name for p in path.parent.glob('*.meme*')))}")
    return path


def _open_text(path: pathlib.Path) -> list[str]:
    """The lines of a MEME file, gzip-compressed (``.gz``) or plain."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return handle.read().splitlines()
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise InputError(f"motif file {path} cannot be read as MEME text ({error}); give a MEME motif file "
                         "(plain or .gz)") from None


def _matrix_settings(path: pathlib.Path, number: int, line: str) -> dict:
    """``key= value`` pairs of a ``letter-probability matrix:`` line (``alength``, ``w``, ...)."""
    fields = line.split(":", 1)[1].replace("=", "= ").split()
    settings = {}
    for key, value in zip(fields, fields[1:]):
        if key.endswith("="):
            settings[key[:-1]] = value
    for key in ("alength", "w"):
        if key in settings and not settings[key].isdigit():
            raise InputError(f"{path}, line {number}: {key}= {settings[key]!r} is not a whole number")
    if settings.get("alength", "4") != "4":
        raise InputError(f"{path}, line {number}: alength= {settings['alength']}; only DNA motifs (4 letters, ACGT) "
                         "are read")
    return settings


def read_meme(path: str | os.PathLike) -> list[Motif]:
    """Read the letter-probability matrices of a MEME (minimal) motif file, plain or gzipped (ACGT).

    Args:
        path: a MEME file (``.meme``, ``.txt``, or either gzipped as ``.gz``).

    Returns:
        The motifs in file order.

    Raises:
        InputError: naming the file and the line: an alphabet other than ACGT, a matrix line with
            a bad ``alength=``/``w=``, a row without 4 probabilities summing to 1 (+/- 0.02), a
            matrix whose row count differs from its ``w=``, a ``MOTIF`` without a matrix, a
            matrix without a ``MOTIF``; or a file that is missing, not text, or holds no motif.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"motif file {path} does not exist")
    lines = _open_text(path)
    motifs = []
    index = 0
    identifier = name = None
    motif_line = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if line.startswith("ALPHABET"):
            letters = line.split("=", 1)[1].strip() if "=" in line else ""
            if letters.upper() not in ("ACGT", "DNA"):
                raise InputError(f"{path}, line {index}: alphabet {letters!r}; only DNA motifs (ACGT) are read")
        elif line.startswith("MOTIF"):
            if identifier is not None:
                raise InputError(f"{path}, line {motif_line}: motif {identifier} has no letter-probability matrix "
                                 f"before the next MOTIF (line {index})")
            fields = line.split()
            identifier = fields[1] if len(fields) > 1 else f"motif_{len(motifs) + 1}"
            name = fields[2] if len(fields) > 2 else identifier
            motif_line = index
        elif line.startswith("letter-probability matrix"):
            if identifier is None:
                raise InputError(f"{path}, line {index}: a matrix without a MOTIF line before it")
            header_line = index
            width = int(_matrix_settings(path, index, line).get("w", 0))
            rows = []
            while index < len(lines) and lines[index].strip() and (width == 0 or len(rows) < width):
                text = lines[index].strip()
                if text.startswith(("MOTIF", "URL")):
                    break
                try:
                    row = [float(value) for value in text.split()]
                except ValueError:
                    row = []
                if len(row) != 4 or abs(sum(row) - 1) > 0.02 or min(row) < 0:
                    raise InputError(f"{path}, line {index + 1}: expected 4 probabilities summing to 1, found {text!r}")
                rows.append(row)
                index += 1
            if not rows or (width and len(rows) != width):
                raise InputError(f"{path}, line {header_line}: motif {identifier} declares w={width} but has "
                                 f"{len(rows)} rows")
            probabilities = np.asarray(rows, dtype=np.float64)
            motifs.append(Motif(identifier, name, probabilities / probabilities.sum(axis=1, keepdims=True)))
            identifier = None
    if identifier is not None:
        raise InputError(f"{path}, line {motif_line}: motif {identifier} has no letter-probability matrix")
    if not motifs:
        raise InputError(f"{path} holds no MEME letter-probability matrices")
    return motifs
