"""Evaluation figures (PNG): loss curves, observed vs predicted log-counts, observed vs predicted profiles.

matplotlib is an optional dependency (``pip install dream-keras[plots]``); it is imported when a
figure is drawn, with the non-interactive Agg backend, so training on a server never needs a display.
Every figure is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from data_prep.outputs.atomic import atomic_path


class PlottingUnavailable(ImportError):
    """matplotlib is not installed; the message says how to install it."""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PlottingUnavailable("plots need matplotlib, which is not installed: pip install dream-keras[plots] "
                                  "(or pip install matplotlib)") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: str | os.PathLike) -> pathlib.Path:
    plt = _pyplot()
    path = pathlib.Path(path)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)
    return path


def plot_loss_curves(history: list[dict], path: str | os.PathLike, title: str = "") -> pathlib.Path:
    """Training and validation loss per epoch, with the best epoch marked.

    history : one dict per epoch with ``epoch`` (counted from 1; the row's place when absent), ``loss``,
        ``val_loss`` and optionally ``profile_loss``, ``logcounts_loss`` and their ``val_`` forms (the
        training log's rows).
    """
    plt = _pyplot()
    parts = [name for name in ("loss", "profile_loss", "logcounts_loss") if any(name in row for row in history)]
    figure, axes = plt.subplots(1, len(parts) or 1, figsize=(4.2 * max(len(parts), 1), 3.4), squeeze=False)
    epochs = [int(row.get("epoch", i + 1)) for i, row in enumerate(history)]
    for axis, name in zip(axes[0], parts):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            values = [row.get(prefix + name, np.nan) for row in history]
            axis.plot(epochs, values, style, markersize=3, label="validation" if prefix else "training")
        axis.set_xlabel("epoch")
        axis.set_title(name.replace("_", " ") if name != "loss" else _total_loss_title(history))
        axis.legend(fontsize=8)
    best = best_epoch_of(history)
    if best is not None:
        # the epoch whose weights the run keeps (lowest validation loss, as early stopping restores)
        for axis in axes[0]:
            axis.axvline(epochs[best], color="tab:green", linestyle=":", linewidth=1.2)
        axes[0][0].plot([epochs[best]], [history[best]["val_loss"]], "*", color="tab:green", markersize=12,
                        label=f"best epoch {epochs[best]}")
        axes[0][0].legend(fontsize=8)
    figure.suptitle(title or "loss curves")
    return _save(figure, path)


def best_epoch_of(history: list[dict]) -> int | None:
    """Row index of the lowest finite ``val_loss`` (the first on ties), ``None`` when there is none."""
    values = np.array([row.get("val_loss", np.nan) for row in history], dtype=np.float64)
    return int(np.nanargmin(values)) if np.isfinite(values).any() else None


def _total_loss_title(history: list[dict]) -> str:
    """The title of the loss panel: the formula the logged parts add up to.

    ``"loss = profile + w x logcounts"`` with the weight the logged values imply (the same in every epoch when the log
    adds up), or ``"loss"`` when the parts are not logged.
    """
    rows = [row for row in history if all(np.isfinite(row.get(k, np.nan)) for k in
                                          ("loss", "profile_loss", "logcounts_loss")) and row["logcounts_loss"] > 0]
    if not rows:
        return "loss"
    weight = float(np.median([(row["loss"] - row["profile_loss"]) / row["logcounts_loss"] for row in rows]))
    return f"loss = profile + {weight:.3g} x logcounts"


def plot_logcounts(true_logcounts: np.ndarray, pred_logcounts: np.ndarray, is_peak: np.ndarray,
                   path: str | os.PathLike, title: str = "") -> pathlib.Path:
    """Scatter of observed ``log(1 + total counts)`` against predicted log-counts, peaks and nonpeaks apart.

    The legend gives each group's Pearson r and size, and the title the r over all regions (the
    ``counts_metrics`` of ``metrics.json``), so the figure says how well counts were learned.

    Args:
        true_logcounts: ``(n,)`` observed ``log(1 + total counts)``.
        pred_logcounts: ``(n,)`` predicted log-counts.
        is_peak: bool ``(n,)``.
        path: the PNG to write.
        title: the figure's title.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(4.4, 4.2))
    for mask, label, colour in ((~is_peak, "nonpeaks", "tab:grey"), (is_peak, "peaks", "tab:blue")):
        if mask.any():
            axis.scatter(true_logcounts[mask], pred_logcounts[mask], s=9, alpha=0.7, color=colour,
                         label=f"{label} (n={int(mask.sum())}, "
                               f"r={_pearson(true_logcounts[mask], pred_logcounts[mask]):.2f})")
    values = np.concatenate([true_logcounts, pred_logcounts])
    low, high = float(np.min(values)), float(np.max(values))
    axis.plot([low, high], [low, high], "k--", linewidth=0.8)
    axis.set_xlabel("observed log(1 + counts)")
    axis.set_ylabel("predicted log-counts")
    axis.legend(fontsize=8)
    overall = f"count r = {_pearson(true_logcounts, pred_logcounts):.2f} (all {len(true_logcounts)})"
    axis.set_title(f"{title or 'test regions'}\n{overall}", fontsize=10)
    return _save(figure, path)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r, NaN for fewer than 2 points or a constant input."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


#: bins across the output window in the profile figure (per-base reads are too sparse to compare by eye)
PROFILE_FIGURE_BINS = 50


def profile_bin_width(length: int, bins: int = PROFILE_FIGURE_BINS) -> int:
    """Bases per bin when a ``length``-base profile is drawn in about ``bins`` bins (at least 1)."""
    return max(1, int(round(length / bins)))


def binned_profile(values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``values`` summed over consecutive ``width``-base bins.

    Returns ``(sums, edges)``: the sums (the last bin may be shorter), and the bin edges as positions from the
    window's centre (``len(sums) + 1`` of them).
    """
    values = np.asarray(values, dtype=np.float64)
    starts = np.arange(0, len(values), width)
    sums = np.add.reduceat(values, starts) if len(values) else np.zeros(0)
    edges = np.append(starts, len(values)) - len(values) // 2
    return sums, edges


def plot_profiles(observed: list[np.ndarray], predicted: list[np.ndarray], labels: list[str],
                  path: str | os.PathLike, title: str = "") -> pathlib.Path:
    """Observed reads against predicted reads (softmax(profile) x exp(log-counts)), one panel per region.

    Both are summed in the same bins (:func:`profile_bin_width`, about 50 across the window) and drawn
    on one axis, so that they share a scale: reads per bin. Per base, observed reads are sparse
    integers (mostly 0, now and then 5 or 10) while a prediction is an expectation (a smooth fraction
    of a read per base): drawn per base, even a perfect prediction looks flat beside the observed spikes.

    Args:
        observed: ``(output_length,)`` arrays of observed counts, one per panel.
        predicted: ``(output_length,)`` arrays of predicted counts, one per panel.
        labels: one title per panel.
        path: the PNG to write.
        title: the figure's title.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(len(observed), 1, figsize=(8, 2.4 * len(observed)), squeeze=False)
    for axis, seen, guess, label in zip(axes[:, 0], observed, predicted, labels):
        width = profile_bin_width(len(seen))
        seen_bins, edges = binned_profile(seen, width)
        guess_bins, _ = binned_profile(guess, width)
        axis.stairs(seen_bins, edges, fill=True, color="tab:grey", alpha=0.6,
                    label=f"observed ({float(np.sum(seen)):.0f} reads)")
        axis.stairs(guess_bins, edges, color="tab:red", linewidth=1.5,
                    label=f"predicted ({float(np.sum(guess)):.1f} reads)")
        axis.set_title(label, fontsize=9)
        axis.set_ylabel(f"reads per {width} bp")
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel("position from summit (bp)")
    figure.suptitle(title or "profiles")
    return _save(figure, path)
