"""Evaluation of a profile/count model on test regions: ``metrics.json`` (official schema) and figures.

The model predicts every test peak and nonpeak (centred windows, no jitter, no reverse complement,
as the official ``predict.py`` in test mode); the metrics come from
:func:`dream_keras.metrics.profile_count_metrics_by_subset` for ``peaks``, ``nonpeaks`` and
``peaks_and_nonpeaks``. Figures (matplotlib, optional): loss curves from the training log, observed
vs predicted log-counts, and observed vs predicted profiles at the best-predicted peak (lowest
Jensen-Shannon distance) and at the peak of median distance.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib

import numpy as np
import pandas as pd

from data_prep import Windows
from dream_keras.metrics import (
    COUNTS_METRIC_KEYS,
    METRICS_JSON_SUBSETS,
    PROFILE_METRIC_KEYS,
    profile_count_metrics_by_subset,
    write_metrics_json,
)
from dream_keras.tasks.atac.prediction import predict_profile_count, softmax

METRIC_KEYS = COUNTS_METRIC_KEYS + PROFILE_METRIC_KEYS


@dataclasses.dataclass
class Evaluation:
    """Predictions and metrics on the test regions (peaks first, then nonpeaks).

    Attributes:
        true_counts: float32 ``(n, output_length)`` observed counts.
        profile_logits: float32 ``(n, output_length)`` predicted profile logits.
        pred_logcounts: float32 ``(n,)`` predicted log-counts.
        is_peak: bool ``(n,)``.
        regions: DataFrame ``(n,)`` of the regions.
        metrics: ``{subset: {metric: value, "jsd": per-region array, ...}}``.
    """

    true_counts: np.ndarray
    profile_logits: np.ndarray
    pred_logcounts: np.ndarray
    is_peak: np.ndarray
    regions: pd.DataFrame
    metrics: dict

    def summary(self) -> dict:
        """``{subset: {metric: float}}`` without the per-region arrays, official subset order."""
        return {subset: {key: float(self.metrics[subset][key]) for key in METRIC_KEYS}
                for subset in METRICS_JSON_SUBSETS if subset in self.metrics}


def evaluate_model(model, peaks: Windows | None, nonpeaks: Windows | None, *, batch_size: int = 64,
                   progress: bool | None = None) -> Evaluation:
    """Predict test peaks and nonpeaks (windows held at the model's input/output lengths) and score them."""
    parts = [(w, flag) for w, flag in ((peaks, True), (nonpeaks, False)) if w is not None and len(w.sequences)]
    logits, logcounts, counts, is_peak, regions = [], [], [], [], []
    for windows, flag in parts:
        part_logits, part_logcounts = predict_profile_count(model, windows.sequences, batch_size=batch_size,
                                                            progress=progress,
                                                            desc=f"evaluating {'peaks' if flag else 'nonpeaks'}")
        logits.append(part_logits)
        logcounts.append(part_logcounts)
        counts.append(windows.counts)
        is_peak.append(np.full(len(windows.sequences), flag))
        regions.append(windows.regions.assign(is_peak=flag))
    if not parts:
        raise ValueError("no test regions to evaluate")
    evaluation = Evaluation(np.concatenate(counts), np.concatenate(logits), np.concatenate(logcounts),
                            np.concatenate(is_peak), pd.concat(regions, ignore_index=True), {})
    evaluation.metrics = profile_count_metrics_by_subset(evaluation.true_counts, evaluation.profile_logits,
                                                         evaluation.pred_logcounts, evaluation.is_peak)
    return evaluation


def _region_label(row) -> str:
    return f"{row['chrom']}:{int(row['summit'])}"


def write_evaluation(evaluation: Evaluation, folder: str | os.PathLike, *, history: list[dict] | None = None,
                     title: str = "", plots: bool = True) -> dict:
    """Write ``folder/metrics.json`` and the figures; return ``{name: path}`` of what was written.

    Figures: ``loss_curves.png`` (when ``history`` has rows), ``logcounts_scatter.png``,
    ``profiles_best_and_median_peak.png``. Without matplotlib the figures are skipped with a
    message saying how to install it.
    """
    from dream_keras import plots as figures

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {"metrics": write_metrics_json(folder / "metrics.json", evaluation.metrics)}
    if not plots:
        return written
    try:
        if history:
            written["loss_curves"] = figures.plot_loss_curves(history, folder / "loss_curves.png", title=title)
        true_logcounts = np.log1p(evaluation.true_counts.sum(axis=1, dtype=np.float64))
        written["logcounts_scatter"] = figures.plot_logcounts(
            true_logcounts, evaluation.pred_logcounts, evaluation.is_peak, folder / "logcounts_scatter.png",
            title=f"{title} test regions".strip())
        peak_rows = np.flatnonzero(evaluation.is_peak)
        jsd = evaluation.metrics["peaks"]["jsd"] if "peaks" in evaluation.metrics else np.array([])
        if peak_rows.size and np.isfinite(jsd).any():
            finite = np.flatnonzero(np.isfinite(jsd))
            ranked = finite[np.argsort(jsd[finite], kind="stable")]
            chosen = [("best-predicted peak", ranked[0]), ("median peak", ranked[len(ranked) // 2])]
            observed, predicted, labels = [], [], []
            for name, index in chosen:
                row = peak_rows[index]
                probabilities = softmax(evaluation.profile_logits[row:row + 1])[0]
                observed.append(evaluation.true_counts[row])
                predicted.append(probabilities * math.exp(float(evaluation.pred_logcounts[row])))
                labels.append(f"{name} {_region_label(evaluation.regions.iloc[row])} (JSD {jsd[index]:.3f})")
            written["profiles"] = figures.plot_profiles(observed, predicted, labels,
                                                        folder / "profiles_best_and_median_peak.png", title=title)
    except figures.PlottingUnavailable as missing:
        print(f"note: figures skipped: {missing}")
    return written


def format_metrics(summary: dict) -> str:
    """A small text table: one row per subset, one column per metric."""
    header = f"{'':20s}" + "".join(f"{key:>16s}" for key in METRIC_KEYS)
    lines = [header]
    for subset, values in summary.items():
        lines.append(f"{subset:20s}" + "".join(f"{values[key]:16.4f}" for key in METRIC_KEYS))
    return "\n".join(lines)
