"""Figures that exist only in the report, drawn to PNG bytes.

Figures that exist only in the report, drawn to PNG bytes (the run's own figures are the PNGs in its ``evaluation/``
folder, drawn by :mod:`dream_keras.plots`).
"""

from __future__ import annotations

import io

import numpy as np


def footprint_maxima_png(max_by_motif: dict, flat: float | None = None) -> bytes:
    """Bar chart of the footprint check.

    Each enzyme motif's normalised footprint maximum against the threshold
    (:data:`bias_models.qc.FOOTPRINT_THRESHOLD`, after rounding, so that maxima fail from
    :data:`~bias_models.qc.FOOTPRINT_FAILS_FROM` on; both lines drawn), and the flat-profile level
    ``1 / output_length`` when given.

    Args:
        max_by_motif: ``{motif name: maximum}`` (``bias_qc.json``'s ``footprint.max_by_motif``).
        flat: the value of a flat profile, drawn as a further line.

    Returns:
        The PNG file's bytes.
    """
    from bias_models.qc import FOOTPRINT_FAILS_FROM, FOOTPRINT_THRESHOLD, footprint_reaches_threshold
    from dream_keras.plots import _pyplot

    plt = _pyplot()
    names = list(max_by_motif)
    values = np.array([max_by_motif[name] for name in names], dtype=np.float64)
    # rounding to 3 decimals comes before the comparison, as in the official QC
    failed = np.array([footprint_reaches_threshold(value) for value in values], dtype=bool)
    figure, axis = plt.subplots(figsize=(max(4.0, 0.8 * len(names) + 2.0), 3.2))
    axis.bar(names, values, color=np.where(failed, "tab:red", "tab:green"))
    axis.axhline(FOOTPRINT_THRESHOLD, color="black", linestyle="--", linewidth=1,
                 label=f"threshold {FOOTPRINT_THRESHOLD}")
    axis.axhline(FOOTPRINT_FAILS_FROM, color="tab:red", linestyle="-.", linewidth=1,
                 label=f"fails from {FOOTPRINT_FAILS_FROM:.4f} (rounds to {FOOTPRINT_THRESHOLD})")
    if flat is not None:
        axis.axhline(flat, color="grey", linestyle=":", linewidth=1, label=f"flat profile {flat:.4f}")
    axis.set_ylabel("normalised footprint max")
    axis.set_title("enzyme motifs in the bias-free model")
    axis.legend(fontsize=8)
    axis.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
