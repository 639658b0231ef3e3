"""Sequence logos of patterns and database motifs, drawn to PNG with logomaker (a modisco-lite dependency).

Two kinds, as TF-MoDISco's report shows them:

- CWM logo: the contribution weight matrix, letters as tall as the mean contribution of that base
  at that position (below the axis when negative);
- PWM logo: the position probability matrix scaled by the information content of each position
  (bits against a uniform background), the classic logo of a database motif.
"""

from __future__ import annotations

import os
import pathlib
import re

import numpy as np

#: pseudocount of the information content (TF-MoDISco's ``ppm_pseudocount``)
PSEUDOCOUNT = 0.001


def information_content(ppm: np.ndarray, pseudocount: float = PSEUDOCOUNT) -> np.ndarray:
    """Bits per position of a ``(width, 4)`` probability matrix against a uniform background."""
    ppm = np.asarray(ppm, dtype=np.float64)
    smoothed = (ppm + pseudocount) / (1.0 + 4 * pseudocount)
    return (ppm * np.log2(smoothed / 0.25)).sum(axis=1)


def pwm_heights(ppm: np.ndarray) -> np.ndarray:
    """Letter heights of a PWM logo: probabilities x information content, ``(width, 4)``."""
    ppm = np.asarray(ppm, dtype=np.float64)
    return ppm * information_content(ppm)[:, None]


def file_stem(name: str) -> str:
    """A file-name-safe form of a pattern or motif name (``FOS::JUN`` -> ``FOS__JUN``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(name))


def draw_logo(heights: np.ndarray, path: str | os.PathLike, title: str = "") -> pathlib.Path:
    """Draw a ``(width, 4)`` matrix of letter heights (ACGT) as a logo PNG.

    Args:
        heights: letter heights per position, negative ones drawn below the axis.
        path: the PNG (written under a temporary name, then renamed).
        title: a small title above the logo.

    Returns:
        ``path``.
    """
    import logomaker
    import pandas as pd

    from dream_keras.plots import _pyplot, _save

    plt = _pyplot()
    heights = np.asarray(heights, dtype=np.float64)
    figure, axis = plt.subplots(figsize=(max(2.4, 0.22 * len(heights) + 0.8), 1.5))
    frame = pd.DataFrame(heights, columns=list("ACGT"))
    logomaker.Logo(frame, ax=axis, color_scheme="classic")
    axis.spines[["top", "right"]].set_visible(False)
    low, high = min(0.0, heights.clip(max=0).sum(axis=1).min()), max(heights.clip(min=0).sum(axis=1).max(), 1e-6)
    axis.set_ylim(low, high)
    axis.set_xticks([])
    axis.tick_params(labelsize=7)
    if title:
        axis.set_title(title, fontsize=8)
    return _save(figure, path)
