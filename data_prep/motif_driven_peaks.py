"""Peaks whose height is set by their sequence: planted motif instances and how well each matches.

Used by :func:`data_prep.synthetic.make_synthetic_dataset` with ``planted_motif=``. Each peak gets
0 to ``max_instances`` instances of one motif (uniformly many), each sampled from the motif's
probability matrix on a random strand and placed at a random offset within ``reach`` bp of the
summit, without overlaps. An instance's strength is its log-odds score against a uniform
background divided by the motif's best possible score, clipped to [0, 1] (a consensus site scores
1; the sampled sites mostly score 0.6-1). The peak's height (its summit rate before the Tn5 bias) is

    height = peak_height * (baseline + sum of strengths) * LogNormal(0, noise)

so a peak without an instance is ``baseline`` as tall as one with a single consensus site, and the
total insertions of a peak grow about linearly with the number of sites: what a sequence model can
learn, and what the tests check.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data_prep.errors import InputError
from data_prep.motifs import Motif


@dataclasses.dataclass(frozen=True)
class PlantedSites:
    """What was planted around each peak (arrays of length n_peaks).

    instances: how many motif instances; strength: the sum of their strengths (0 without one);
    height: the peak's summit rate before the enzyme bias; offsets: per peak, the instance starts
    relative to the summit (a list of int arrays).
    """

    instances: np.ndarray
    strength: np.ndarray
    height: np.ndarray
    offsets: list


def find_motif(motifs: list[Motif], name: str) -> Motif:
    """The motif whose name or identifier is ``name`` (case-insensitive); :class:`InputError` names the choices."""
    for motif in motifs:
        if name.lower() in (motif.name.lower(), motif.identifier.lower()):
            return motif
    raise InputError(f"no motif named {name!r} in the motif file; choose one of "
                     f"{', '.join(m.name for m in motifs)}")


def motif_strength(bases: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Relative match of each site: log-odds score / best score, clipped to [0, 1].

    bases: ``(n, width)`` base indices 0..3 on the motif's strand; probabilities: ``(width, 4)``.
    Returns ``(n,)`` float64.
    """
    log_odds = np.log(np.clip(probabilities, 1e-3, None) / 0.25)
    score = log_odds[np.arange(len(log_odds))[None, :], bases].sum(axis=1)
    return np.clip(score / log_odds.max(axis=1).sum(), 0.0, 1.0)


def plant_sites(rng: np.random.Generator, index: np.ndarray, summits: np.ndarray, motif: Motif, *,
                max_instances: int = 4, reach: int = 150, peak_height: float = 1.0, baseline: float = 0.15,
                noise: float = 0.25) -> PlantedSites:
    """Write motif instances into ``index`` (base indices, changed in place) around each summit.

    Args:
        rng: the random generator of the chromosome.
        index: ``(chromosome length,)`` uint8 base indices 0..3 (4 = N).
        summits: ``(n,)`` summit positions, at least ``reach + width`` bp from either end.
        motif: the planted motif.
        max_instances: most instances per peak (0..max_instances, uniform).
        reach: instances start within ``[-reach, reach - width]`` of the summit.
        peak_height: scale of the heights: ``peak_height * (baseline + sum of strengths) * LogNormal(0, noise)``.
        baseline: the height of a peak without an instance, in units of ``peak_height``.
        noise: sigma of the log-normal factor of each height.

    Returns:
        :class:`PlantedSites` (heights included).
    """
    width = len(motif.probabilities)
    slots = (2 * reach) // width  # non-overlapping positions of width bp in the reach
    if max_instances < 0 or max_instances > slots:
        raise InputError(f"max_instances is {max_instances}; with a {width} bp motif and reach {reach} bp "
                         f"choose 0 to {slots}")
    cumulative = np.cumsum(motif.probabilities, axis=1)
    instances = rng.integers(0, max_instances + 1, size=len(summits))
    strength = np.zeros(len(summits))
    offsets = []
    for peak, (summit, count) in enumerate(zip(summits, instances)):
        chosen = np.sort(rng.choice(slots, size=count, replace=False)) * width - reach
        bases = np.minimum((rng.random((count, width, 1)) > cumulative[None]).sum(axis=2), 3)
        strength[peak] = motif_strength(bases, motif.probabilities).sum()
        reverse = rng.random(count) < 0.5
        bases[reverse] = 3 - bases[reverse, ::-1]
        index[(summit + chosen)[:, None] + np.arange(width)] = bases
        offsets.append(chosen)
    height = peak_height * (baseline + strength) * rng.lognormal(0.0, noise, size=len(summits))
    return PlantedSites(instances, strength, height, offsets)


__all__ = ["PlantedSites", "find_motif", "motif_strength", "plant_sites"]
