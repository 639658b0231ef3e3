"""One figure per requested variant: predicted profiles of both alleles and their contribution tracks.

``plots/<variant_id>.png`` (characters other than letters, digits, ``._-`` become ``_``) holds three
panels over the window around the variant:

1. the predicted profiles of allele1 and allele2 (strand-mean logits averaged over the models,
   softmax times the strand-mean predicted counts ``exp(logcounts)``: expected reads per base, the
   pseudo-count included), over the central ``profile_span`` positions of the output window;
2. the contribution scores of allele1 to the predicted log-counts (``dream_keras.interpret.contributions``
   with its default method, averaged over the models), one bar per base coloured by the base, over
   ``contribution_span`` bases around the variant;
3. the same for allele2.

The variant's first base is marked with a vertical line; the title gives the alleles, ``logfc``
and ``jsd`` (model means) of the scores table.
"""

from __future__ import annotations

import os
import pathlib
import re

import numpy as np

from dream_keras.interpret.variants.chromosomes import encode, encoding_table
from dream_keras.interpret.variants.scores import softmax
from dream_keras.interpret.variants.windows import allele_windows

BASE_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
PROFILE_SPAN = 400
CONTRIBUTION_SPAN = 80


def plot_file_name(variant_id: str) -> str:
    """The figure's file name for a variant ID."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", variant_id) + ".png"


def variant_figure_data(models, predictor, bases: np.ndarray, row) -> dict:
    """Windows, predictions and contributions of one variant (``row``: ``pos``, ``allele1``, ``allele2``).

    Returns:
        ``{"windows": (2, L) uint8, "expected": (2, output_length), "contributions": (2, L, 4)}``.
    """
    from dream_keras.interpret import contributions

    length = predictor.kind.input_length
    windows = np.concatenate(allele_windows(bases, np.array([row.pos]), [row.allele1], [row.allele2], length))
    predictions = predictor.predict(windows[:1], windows[1:])
    logits = np.mean([p["logits"][:, 0] for p in predictions], axis=0)
    counts = np.mean([p["counts"][:, 0] for p in predictions], axis=0)
    expected = softmax(logits) * counts[:, None]
    onehot = encode(windows, encoding_table(predictor.kind.alphabet))
    scores = np.mean([contributions(model, onehot, output="logcounts") for model in models], axis=0)
    return {"windows": windows, "expected": expected, "contributions": scores}


def _contribution_panel(axis, window: np.ndarray, scores: np.ndarray, centre: int, span: int, title: str) -> None:
    first = centre - span // 2
    positions = np.arange(first, first + span)
    per_base = scores[positions].sum(axis=1)
    letters = [chr(code).upper() for code in window[positions]]
    axis.bar(positions - centre, per_base, width=0.9, color=[BASE_COLOURS.get(b, "#888888") for b in letters])
    axis.axhline(0, color="black", linewidth=0.5)
    axis.set_ylabel("contribution")
    axis.set_title(title, fontsize=9)
    from matplotlib.patches import Patch

    axis.legend(handles=[Patch(color=colour, label=base) for base, colour in BASE_COLOURS.items()], ncol=4,
                fontsize=7, loc="upper right", frameon=False)


def plot_variant(path: str | os.PathLike, data: dict, row, scores: dict, output_length: int) -> pathlib.Path:
    """Write the figure of one variant (module docstring)."""
    from dream_keras.plots import _pyplot, _save

    plt = _pyplot()
    figure, axes = plt.subplots(3, 1, figsize=(10, 7.5))
    span = min(PROFILE_SPAN, output_length)
    first = output_length // 2 - span // 2
    positions = np.arange(first, first + span) - output_length // 2
    for allele, colour, label in ((0, "#1f77b4", "allele1"), (1, "#d62728", "allele2")):
        text = getattr(row, label) or "-"
        axes[0].plot(positions, data["expected"][allele, first:first + span], color=colour, linewidth=1,
                     label=f"{label} ({text})")
    axes[0].axvline(0, color="grey", linewidth=0.6, linestyle="--")
    axes[0].set_ylabel("predicted reads")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title(f"{row.variant_id}  {row.chr}:{row.pos} {row.allele1 or '-'}>{row.allele2 or '-'}   "
                      f"logfc {scores.get('logfc', float('nan')):.3f}   jsd {scores.get('jsd', float('nan')):.3f}",
                      fontsize=10)
    centre = data["windows"].shape[1] // 2
    for panel, (allele, label) in enumerate(((0, "allele1"), (1, "allele2")), start=1):
        _contribution_panel(axes[panel], data["windows"][allele], data["contributions"][allele], centre,
                            min(CONTRIBUTION_SPAN, data["windows"].shape[1]),
                            f"{label} ({getattr(row, label) or '-'}): contributions to log-counts")
        axes[panel].axvline(-0.5, color="grey", linewidth=0.6, linestyle="--")
    axes[2].set_xlabel("position relative to the variant (bp)")
    return _save(figure, path)


__all__ = ["plot_file_name", "plot_variant", "variant_figure_data"]
