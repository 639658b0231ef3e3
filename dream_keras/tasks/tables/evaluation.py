"""Scores of a sequence-table model on held-out rows: correlations per task, DREAM score, scatter plot."""

from __future__ import annotations

import os
import pathlib
import warnings

import numpy as np

from data_prep.outputs.atomic import atomic_path
from dream_keras.metrics import dream_score, pearson_r, spearman_r


def task_correlations(measured: dict, predicted: dict) -> dict:
    """Per task ``{"n", "pearson_r", "spearman_r", "mse"}`` of predictions against measurements.

    Args:
        measured: task -> ``(n,)`` or ``(n, 1)`` measurements.
        predicted: task -> ``(n,)`` predictions (at least the tasks of ``measured``).
    """
    scores = {}
    for task, values in measured.items():
        truth = np.asarray(values, dtype=np.float64).reshape(-1)
        guess = np.asarray(predicted[task], dtype=np.float64).reshape(-1)
        scores[task] = {"n": int(truth.size), "pearson_r": pearson_r(truth, guess),
                        "spearman_r": spearman_r(truth, guess), "mse": float(np.mean((truth - guess) ** 2))}
    return scores


def evaluation_record(task: str, measured: dict, predicted: dict) -> dict:
    """One evaluated set for ``metrics.json``.

    Returns:
        ``{"n", "tasks": {task: {"n", "pearson_r", "spearman_r", "mse"}}, "mean_pearson_r",
        "mean_spearman_r"}``, plus ``"dream_score"`` (:func:`dream_keras.metrics.dream_score` with the
        subset ``all``) for DREAM yeast.
    """
    scores = task_correlations(measured, predicted)
    record = {"n": next(iter(scores.values()))["n"], "tasks": scores,
              "mean_pearson_r": float(np.mean([s["pearson_r"] for s in scores.values()])),
              "mean_spearman_r": float(np.mean([s["spearman_r"] for s in scores.values()]))}
    if task == "dream_yeast":
        record["dream_score"] = dream_score(predicted["expression"], np.asarray(measured["expression"]).reshape(-1),
                                            {"all": np.arange(record["n"])})
    return record


def scatter_plot(path: str | os.PathLike, measured: dict, predicted: dict, title: str) -> pathlib.Path | None:
    """Observed against predicted, one panel per task, written as a PNG (atomically).

    Returns the path, or None (with a warning) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn("matplotlib is not installed, so no scatter plot was drawn; pip install matplotlib",
                      stacklevel=2)
        return None
    tasks = list(measured)
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 4.2), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        truth = np.asarray(measured[task], dtype=np.float64).reshape(-1)
        guess = np.asarray(predicted[task], dtype=np.float64).reshape(-1)
        axis.scatter(truth, guess, s=4, alpha=0.4, linewidths=0)
        low, high = np.nanmin([truth.min(), guess.min()]), np.nanmax([truth.max(), guess.max()])
        axis.plot([low, high], [low, high], color="grey", linewidth=0.8)
        axis.set_xlabel(f"observed {task}")
        axis.set_ylabel(f"predicted {task}")
        axis.set_title(f"{task}: Pearson r {pearson_r(truth, guess):.3f}, "
                       f"Spearman {spearman_r(truth, guess):.3f} (n={truth.size})", fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)
    return path


__all__ = ["evaluation_record", "scatter_plot", "task_correlations"]
