"""Name patterns by their most similar database motifs: TOMTOM from pip (``memelite.tomtom``).

Each pattern's position probability matrix, trimmed as ``modisco report`` trims it, is compared
with every database motif on both strands by memelite's TOMTOM (the complete-score algorithm of
Gupta et al. 2007; no MEME binary). TOMTOM gives one p-value per query and target; as MEME's
Tomtom, the q-value is the Benjamini-Hochberg false discovery rate over the query's p-values
against all targets, and the E-value the p-value times the number of targets.
"""

from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np

from data_prep.motifs import Motif, bundled_motif_path, read_meme
from dream_keras.interpret.motifs.patterns import Pattern
from dream_keras.motif_settings import DEFAULT_DATABASE, ENZYME_MOTIF_PREFIXES, TOP_MATCHES, TRIM_THRESHOLD


@dataclasses.dataclass(frozen=True)
class MotifMatch:
    """One database motif matched to a pattern.

    Identifier and name as in the database's MOTIF line, TOMTOM's p-value, the q-value and E-value derived
    from it, and whether the motif aligns to the pattern as its reverse complement.
    """

    identifier: str
    name: str
    p_value: float
    q_value: float
    e_value: float
    reverse_complement: bool = False

    @property
    def label(self) -> str:
        """``MA0139.2 CTCF``, or the identifier alone when the database gives no other name."""
        return self.identifier if self.name == self.identifier else f"{self.identifier} {self.name}"

    @property
    def is_enzyme(self) -> bool:
        """Whether this is one of the enzyme-bias motifs (TN5_*, DNASE_*)."""
        return is_enzyme_motif(self.identifier)


def is_enzyme_motif(identifier: str) -> bool:
    """Whether a database identifier names an enzyme-bias motif (``TN5_1``, ``DNASE_3``, ...)."""
    return str(identifier).upper().startswith(ENZYME_MOTIF_PREFIXES)


def load_motif_database(path: str | os.PathLike | None = None) -> tuple[list[Motif], str]:
    """The motifs of a MEME file, or of the bundled database when ``path`` is ``None``.

    Returns:
        ``(motifs, source)``: the motifs in file order and the path they came from.

    Raises:
        InputError: the file is missing or does not parse (its line named).
    """
    source = bundled_motif_path(DEFAULT_DATABASE) if path is None else path
    return read_meme(source), str(source)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """q-values of a vector of p-values (Benjamini-Hochberg step-up, monotone, capped at 1)."""
    p_values = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p_values)
    ranked = p_values[order] * len(p_values) / np.arange(1, len(p_values) + 1)
    q_sorted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    q_values = np.empty_like(q_sorted)
    q_values[order] = q_sorted
    return q_values


def match_patterns(patterns: list[Pattern], motifs: list[Motif], top: int = TOP_MATCHES,
                   trim_threshold: float = TRIM_THRESHOLD) -> list[list[MotifMatch]]:
    """The ``top`` best database matches of every pattern, by p-value.

    Args:
        patterns: TF-MoDISco patterns (:func:`~dream_keras.interpret.motifs.patterns.read_patterns`).
        motifs: database motifs (:func:`load_motif_database`).
        top: matches kept per pattern.
        trim_threshold: the patterns' trimming (see :meth:`Pattern.trimmed`).

    Returns:
        One list per pattern, best match first.
    """
    if not patterns:
        return []
    from memelite import tomtom

    queries = [np.ascontiguousarray(p.ppm[p.trimmed(trim_threshold)].T) for p in patterns]
    targets = [np.ascontiguousarray(m.probabilities.T) for m in motifs]
    with warnings.catch_warnings():
        # the warning about small target sets: a user database of a few motifs is the user's choice
        warnings.filterwarnings("ignore", message=".*target motifs.*")
        result = tomtom(queries, targets)
    p_values = np.clip(np.nan_to_num(np.asarray(result[0], dtype=np.float64), nan=1.0), 0.0, 1.0)
    strands = np.asarray(result[4])  # 1: the target's reverse complement aligned best
    matches = []
    for row, row_strands in zip(p_values, strands):
        q_values = benjamini_hochberg(row)
        best = np.argsort(row, kind="stable")[:top]
        matches.append([MotifMatch(motifs[i].identifier, motifs[i].name, float(row[i]), float(q_values[i]),
                                   float(row[i] * len(motifs)), bool(row_strands[i])) for i in best])
    return matches
