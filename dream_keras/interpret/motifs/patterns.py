"""Patterns of a TF-MoDISco results file, trimmed as ``modisco report`` trims them.

A results file (``modiscolite.io.save_hdf5``) holds ``pos_patterns/pattern_N`` and
``neg_patterns/pattern_N`` groups with ``sequence`` (the position probability matrix of the
aligned seqlets, PPM), ``contrib_scores`` (the contribution weight matrix, CWM),
``hypothetical_contribs`` and ``seqlets/n_seqlets``, each matrix ``(width, 4)`` in ACGT order.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from dream_keras.motif_settings import TRIM_THRESHOLD

#: pattern groups in the order they are reported, with their sign
GROUPS = (("pos_patterns", "pos"), ("neg_patterns", "neg"))


@dataclasses.dataclass
class Pattern:
    """One TF-MoDISco pattern.

    Attributes:
        name: ``pos_patterns.pattern_0`` (group and pattern, as ``modisco report`` names them).
        sign: ``pos`` (raises the explained output) or ``neg``.
        ppm: ``(width, 4)`` position probability matrix of its seqlets.
        cwm: ``(width, 4)`` contribution weight matrix (mean contribution per base and position).
        n_seqlets: seqlets the pattern was built from.
    """

    name: str
    sign: str
    ppm: np.ndarray
    cwm: np.ndarray
    n_seqlets: int

    def trimmed(self, threshold: float = TRIM_THRESHOLD) -> slice:
        """The positions kept by ``modisco report``'s trimming.

        From the first to the last position whose summed |CWM| reaches ``threshold`` x its maximum.
        """
        score = np.abs(self.cwm).sum(axis=1)
        kept = np.flatnonzero(score >= threshold * score.max())
        if not len(kept):  # an all-zero CWM: keep everything
            return slice(0, len(score))
        return slice(int(kept[0]), int(kept[-1]) + 1)


def _pattern_number(name: str) -> int:
    return int(name.rsplit("_", 1)[-1])


def read_patterns(path: str | os.PathLike) -> list[Pattern]:
    """Every pattern of a TF-MoDISco results file, positive ones first, each group in pattern order."""
    import h5py

    patterns = []
    with h5py.File(path, "r") as handle:
        for group, sign in GROUPS:
            if group not in handle:
                continue
            for key in sorted(handle[group].keys(), key=_pattern_number):
                entry = handle[group][key]
                patterns.append(Pattern(f"{group}.{key}", sign, np.asarray(entry["sequence"], dtype=np.float64),
                                        np.asarray(entry["contrib_scores"], dtype=np.float64),
                                        int(np.asarray(entry["seqlets"]["n_seqlets"]).ravel()[0])))
    return patterns


def consensus(ppm: np.ndarray) -> str:
    """The most probable base at each position (lower case where it has under half the probability)."""
    letters = np.array(list("ACGT"))[ppm.argmax(axis=1)]
    return "".join(letter if p >= 0.5 else letter.lower() for letter, p in zip(letters, ppm.max(axis=1)))
