"""Evaluation figures (PNG): loss curves, observed vs predicted log-counts, observed vs predicted profiles.

matplotlib is an optional dependency (``pip install dream-keras[plots]``); it is imported when a
figure is drawn, with the non-interactive Agg backend, so training on a server never needs a display.
Every figure is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from data_prep.atomic import atomic_path


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
    """Training and validation loss per epoch (and the profile/count parts when logged), with the
    best epoch (lowest validation loss) marked.

    history : one dict per epoch with ``epoch``, ``loss``, ``val_loss`` and optionally
        ``profile_loss``, ``logcounts_loss`` and their ``val_`` forms (the training CSV's rows).
    """
    plt = _pyplot()
    parts = [name for name in ("loss", "profile_loss", "logcounts_loss") if any(name in row for row in history)]
    figure, axes = plt.subplots(1, len(parts) or 1, figsize=(4.2 * max(len(parts), 1), 3.4), squeeze=False)
    epochs = [row.get("epoch", i) + 1 for i, row in enumerate(history)]
    for axis, name in zip(axes[0], parts):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            values = [row.get(prefix + name, np.nan) for row in history]
            axis.plot(epochs, values, style, markersize=3, label="validation" if prefix else "training")
        axis.set_xlabel("epoch")
        axis.set_title(name.replace("_", " "))
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


def plot_logcounts(true_logcounts: np.ndarray, pred_logcounts: np.ndarray, is_peak: np.ndarray,
                   path: str | os.PathLike, title: str = "") -> pathlib.Path:
    """Scatter of observed ``log(1 + total counts)`` against predicted log-counts, peaks and nonpeaks apart,
    with Pearson r (peaks, all) written on the plot.

    true_logcounts, pred_logcounts : ``(n,)``; is_peak : bool ``(n,)``.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(4.4, 4.2))
    for mask, label, colour in ((~is_peak, "nonpeaks", "tab:grey"), (is_peak, "peaks", "tab:blue")):
        if mask.any():
            axis.scatter(true_logcounts[mask], pred_logcounts[mask], s=9, alpha=0.7, label=label, color=colour)
    values = np.concatenate([true_logcounts, pred_logcounts])
    low, high = float(np.min(values)), float(np.max(values))
    axis.plot([low, high], [low, high], "k--", linewidth=0.8)
    axis.text(0.03, 0.97, _pearson_text(true_logcounts, pred_logcounts, is_peak), transform=axis.transAxes,
              va="top", fontsize=9, bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85})
    axis.set_xlabel("observed log(1 + counts)")
    axis.set_ylabel("predicted log-counts")
    axis.legend(fontsize=8)
    axis.set_title(title or "test regions")
    return _save(figure, path)


def _pearson_text(true_logcounts: np.ndarray, pred_logcounts: np.ndarray, is_peak: np.ndarray) -> str:
    """``r`` of observed and predicted log-counts in peaks and in all regions, for the scatter."""
    from dream_keras.metrics import pearson_r

    lines = []
    for label, mask in (("peaks", is_peak), ("all", np.ones_like(is_peak, dtype=bool))):
        r = pearson_r(true_logcounts[mask], pred_logcounts[mask]) if mask.sum() >= 2 else float("nan")
        lines.append(f"r ({label}) = {r:.3f}")
    return "\n".join(lines)


def plot_profiles(observed: list[np.ndarray], predicted: list[np.ndarray], labels: list[str],
                  path: str | os.PathLike, title: str = "") -> pathlib.Path:
    """Observed per-base counts against predicted counts (softmax(profile) x exp(log-counts)), one panel each.

    observed, predicted : lists of ``(output_length,)`` arrays; labels : one title per panel.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(len(observed), 1, figsize=(8, 2.4 * len(observed)), squeeze=False)
    for axis, seen, guess, label in zip(axes[:, 0], observed, predicted, labels):
        positions = np.arange(len(seen)) - len(seen) // 2
        # A filled step curve draws in one artist; a bar per base is ~100x slower at 1,000 bases.
        axis.fill_between(positions, seen, step="mid", color="tab:grey", alpha=0.6, linewidth=0, label="observed")
        axis.plot(positions, guess, color="tab:red", linewidth=1.0, label="predicted")
        axis.set_title(label, fontsize=9)
        axis.set_ylabel("counts")
        axis.legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel("position from summit (bp)")
    figure.suptitle(title or "profiles")
    return _save(figure, path)
