"""Motif sequences to insert: consensus of MEME matrices, and motifs looked up by name.

Named motifs come from the files shipped in ``data_prep/data/motifs``:

- ``tn5_consensus.tsv`` (``tn5_1`` .. ``tn5_5``) and ``dnase_consensus.tsv`` (``dnase_1``,
  ``dnase_2``): the enzyme-bias consensus sequences of ChromBPNet's bias QC;
- ``jaspar2024_atac.meme``: ten JASPAR 2024 TF matrices, by name (``CTCF``) or matrix id
  (``MA0139.2``);
- ``chrombpnet_bias_motifs.meme``: the ``TN5_*`` / ``DNASE_*`` bias matrices.

The group names ``tn5`` and ``dnase`` stand for all consensus sequences of that enzyme.
"""

from __future__ import annotations

import os
import pathlib
import re

import numpy as np

from data_prep.errors import InputError
from data_prep.motifs import Motif, bundled_motif_path, read_meme

_BASES = "ACGT"
_SEQUENCE = re.compile(r"^[ACGTNacgtn]+$")
CONSENSUS_FILES = ("tn5_consensus.tsv", "dnase_consensus.tsv")
MEME_FILES = ("jaspar2024_atac.meme", "chrombpnet_bias_motifs.meme")
GROUPS = {"tn5": "tn5_consensus.tsv", "dnase": "dnase_consensus.tsv"}


def motif_consensus(motif: str | Motif) -> str:
    """The sequence to insert for ``motif``.

    A DNA string as given (upper case), or the most probable base of each row of a MEME matrix (ties: the first in ACGT
    order).

    Raises:
        InputError: a string with letters other than A, C, G, T, N, or an empty one.
    """
    if isinstance(motif, Motif):
        return "".join(_BASES[i] for i in np.argmax(motif.probabilities, axis=1))
    text = str(motif)
    if not _SEQUENCE.match(text):
        raise InputError(f"motif {text!r} is not a DNA sequence; give A/C/G/T/N letters, a motif name, or a "
                         f"MEME matrix")
    return text.upper()


def read_consensus_tsv(path: str | os.PathLike) -> dict[str, str]:
    """Read ``name<TAB>sequence`` lines (ChromBPNet's ``motifs_to_pwm`` format) -> ``{name: sequence}``.

    Raises:
        InputError: naming the file and line of a row without two fields or with a non-DNA sequence.
    """
    path = pathlib.Path(path)
    motifs = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 2 or not _SEQUENCE.match(fields[1].strip()):
            raise InputError(f"{path}, line {number}: expected 'name<TAB>sequence' (A/C/G/T/N), found {line!r}")
        motifs[fields[0].strip()] = fields[1].strip().upper()
    if not motifs:
        raise InputError(f"{path} holds no motifs; write one 'name<TAB>sequence' line per motif")
    return motifs


def read_motif_file(path: str | os.PathLike) -> dict[str, str]:
    """All motifs of a MEME file (by name) or of a ``name<TAB>sequence`` file -> ``{name: consensus}``."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"motif file {path} does not exist")
    if any(line.startswith("MOTIF") for line in path.read_text().splitlines()):
        return {motif.name: motif_consensus(motif) for motif in read_meme(path)}
    return read_consensus_tsv(path)


def bundled_motifs() -> dict[str, str]:
    """Every named motif shipped with the package -> consensus.

    Every named motif shipped with the package -> consensus (TSV names first, then MEME names and matrix identifiers).
    """
    named: dict[str, str] = {}
    for file_name in CONSENSUS_FILES:
        named.update(read_consensus_tsv(bundled_motif_path(file_name)))
    for file_name in MEME_FILES:
        for motif in read_meme(bundled_motif_path(file_name)):
            named.setdefault(motif.name, motif_consensus(motif))
            named.setdefault(motif.identifier, motif_consensus(motif))
    return named


def resolve_motifs(items: list[str]) -> dict[str, str]:
    """Motifs named on a command line -> ``{name: consensus}``, in the order given.

    Each item is a motif file (MEME or ``name<TAB>sequence``), a group (``tn5``, ``dnase``), or a
    bundled motif name; names match exactly, else case-insensitively when that is unambiguous.

    Raises:
        InputError: naming an item that is neither a file nor a known name, with the known names.
    """
    bundled = bundled_motifs()
    folded: dict[str, list[str]] = {}
    for name in bundled:
        folded.setdefault(name.lower(), []).append(name)
    chosen: dict[str, str] = {}
    for item in items:
        if os.path.isfile(item):
            chosen.update(read_motif_file(item))
        elif item.lower() in GROUPS:
            chosen.update(read_consensus_tsv(bundled_motif_path(GROUPS[item.lower()])))
        elif item in bundled:
            chosen[item] = bundled[item]
        elif len(folded.get(item.lower(), [])) == 1:
            name = folded[item.lower()][0]
            chosen[name] = bundled[name]
        else:
            candidates = folded.get(item.lower())
            hint = (f"it matches {candidates} ignoring case; write one of them exactly" if candidates else
                    f"known names: {', '.join(sorted(bundled, key=str.lower))}; groups: {', '.join(GROUPS)}")
            raise InputError(f"motif {item!r} is neither a file nor a bundled motif name; {hint}")
    return chosen
