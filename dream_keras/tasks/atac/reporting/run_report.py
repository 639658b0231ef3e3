"""``evaluation/report.html`` of one ATAC run folder (``bias train`` or ``train``).

Everything comes from files the run wrote, so a report can be made again at any time
(:func:`write_run_report`): ``logs/run.json`` (command, parameters, inputs, data counts),
``logs/result.json`` (main model: best epoch, time), ``logs/training_log.csv``,
``evaluation/metrics.json``, ``evaluation/bias_qc.json`` and the figures beside them
(``loss_curves.png``, ``logcounts_scatter.png``, ``profiles_best_and_median_peak.png``).
A file that is missing leaves its section with a note instead of failing the report.
"""

from __future__ import annotations

import json
import math
import os
import pathlib

from data_prep.outputs import TRAINING_LOG
from dream_keras.tasks.atac.reporting.html_page import HtmlPage, Markup, text, verdict_badge
from dream_keras.training.training_log import read_training_log

REPORT_NAME = "report.html"
#: metrics.json subsets in the order the report shows them, with their labels.
SUBSETS = (("peaks", "peaks"), ("nonpeaks", "nonpeaks"), ("peaks_and_nonpeaks", "both (peaks and nonpeaks)"))
#: (group in metrics.json, metric, column title)
METRIC_COLUMNS = (("counts_metrics", "pearsonr", "count Pearson r"),
                  ("counts_metrics", "spearmanr", "count Spearman r"), ("counts_metrics", "mse", "count MSE"),
                  ("profile_metrics", "median_jsd", "profile median JSD"),
                  ("profile_metrics", "median_norm_jsd", "profile median normalised JSD"))
_KIND = {"bias train": "bias model", "train": "bias-factorised model"}


def _read_json(path: pathlib.Path):
    """The JSON document at ``path``, or ``None`` when the file is missing (``NaN`` reads as float)."""
    return json.loads(path.read_text()) if path.is_file() else None


def display_value(value) -> str | float | int:
    """A parameter value for a table cell: numbers stay numbers, containers become JSON."""
    if value is None:
        return "(not set)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def _flatten(record: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dict -> ``[("a / b", value), ...]`` for a two-column table."""
    rows = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(_flatten(value, name + " / "))
        else:
            rows.append((name, value))
    return rows


def metrics_table(page: HtmlPage, metrics: dict, css_id: str) -> None:
    """The test metrics, one row per subset; every cell carries its exact value in ``data-value``."""
    rows, attributes = [], []
    for subset, label in SUBSETS:
        if subset not in metrics.get("counts_metrics", {}):
            continue
        values = [metrics[group][subset][key] for group, key, _ in METRIC_COLUMNS]
        rows.append([label, *values])
        attributes.append([{"data-subset": subset}] + [
            {"data-group": group, "data-subset": subset, "data-metric": key, "data-value": repr(float(value))}
            for (group, key, _), value in zip(METRIC_COLUMNS, values)])
    page.table(["test regions", *(title for _, _, title in METRIC_COLUMNS)], rows, css_id=css_id,
               cell_attributes=attributes)


def _overview_rows(record: dict, result: dict | None, history: list[dict], qc: dict | None) -> list[list]:
    from dream_keras.plots import best_epoch_of

    params = record.get("parameters", {})
    rows = [["command", f"dream-keras {record.get('command', '?')}"],
            ["dream-keras version", record.get("dream_keras_version", "?")],
            ["started", record.get("created", "?")],
            ["fold", params.get("fold", "?")],
            ["backbone", params.get("backbone", "?")]]
    model = record.get("model", {})
    if "parameters" in model:
        rows.append(["trainable parameters", int(model["parameters"])])
    if result:
        rows += [["epochs trained", int(result["epochs_trained"])], ["best epoch", int(result["best_epoch"])],
                 ["best validation loss", float(result["best_val_loss"])],
                 ["stopped early", "yes" if result.get("stopped_early") else "no"],
                 ["minutes", round(float(result.get("seconds", 0.0)) / 60, 2)]]
    elif history:
        best = best_epoch_of(history)
        rows += [["epochs trained", len(history)]]
        if best is not None:
            rows += [["best epoch", int(history[best].get("epoch", best + 1))],
                     ["best validation loss", float(history[best]["val_loss"])]]
    if "counts_loss_weight" in params:
        rows.append(["counts loss weight", params["counts_loss_weight"]])
    checks = {name: check for name, check in (qc or {}).items() if check}
    if checks:
        rows.append(["bias checks", Markup(" ".join(f"{text(name)} {verdict_badge(check.get('verdict', '?'))}"
                                                    for name, check in checks.items()))])
    return rows


def check_box(name: str, check: dict, level: int, *, measured: str = "", note: str = "") -> str:
    """One bias check as an HTML box.

    Its title and verdict badge (heading ``level``), what was measured, what it checks, what the verdict
    means, what to do, the recorded message and a note.
    """
    from dream_keras.tasks.atac.reporting.bias_qc_text import CHECKS

    words = CHECKS.get(name)
    verdict = str(check.get("verdict", "?"))
    meaning, todo = words.verdicts.get(verdict, ("", "")) if words else ("", "")
    title = words.title if words else name
    parts = [f'<div class="check" data-check="{text(name)}" data-verdict="{text(verdict)}">',
             f"<h{level}>{text(title)} {verdict_badge(verdict)}</h{level}>"]
    if measured:
        parts.append(f"<p><b>Measured:</b> {text(measured)}</p>")
    if words:
        parts.append(f"<p><b>What it checks:</b> {text(words.measures)}</p>")
    if meaning:
        parts.append(f"<p><b>What this result means:</b> {text(meaning)}</p>")
    if todo:
        parts.append(f"<p><b>What to do:</b> {text(todo)}</p>")
    if check.get("message"):
        parts.append(f'<p class="note">Recorded message: {text(check["message"])}</p>')
    if note:
        parts.append(f'<p class="note">{text(note)}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def _add_bias_qc(page: HtmlPage, qc: dict | None, output_length, level: int, anchor: str = "run") -> None:
    from bias_models.qc import (
        FOOTPRINT_DECIMALS,
        FOOTPRINT_FAILS_FROM,
        FOOTPRINT_THRESHOLD,
        footprint_reaches_threshold,
    )
    from dream_keras.tasks.atac.reporting.bias_qc_text import flat_profile_note
    from dream_keras.tasks.atac.reporting.figures import footprint_maxima_png

    page.heading("Bias checks", level, anchor=None)
    checks = {name: check for name, check in (qc or {}).items() if check}
    if not checks:
        page.paragraph("No bias check was recorded for this run (evaluation/bias_qc.json is missing or empty; the "
                       "count check needs at least two test peaks).", css_class="note")
        return
    for name, check in checks.items():
        measured = (f"r = {float(check['pearsonr_in_test_peaks']):.3f}"
                    if name == "count" and "pearsonr_in_test_peaks" in check else "")
        note = flat_profile_note(output_length) if name == "footprint" else ""
        page.raw(check_box(name, check, level + 1, measured=measured, note=note))
        if name == "footprint" and check.get("max_by_motif"):
            flat = 1.0 / output_length if output_length else None
            try:
                page.figure(footprint_maxima_png(check["max_by_motif"], flat),
                            f"Footprint check: each enzyme motif's largest normalised footprint value. Red: it "
                            f"reaches the threshold {FOOTPRINT_THRESHOLD} once rounded to {FOOTPRINT_DECIMALS} "
                            f"decimals (so from {FOOTPRINT_FAILS_FROM:.4f} on); green: below it.")
            except ImportError as missing:  # matplotlib absent: the numbers are in the table below
                page.paragraph(f"figure skipped: {missing}", css_class="note")
            page.table(["enzyme motif", "normalised footprint max", f"rounded to {FOOTPRINT_DECIMALS} decimals",
                        f"threshold {FOOTPRINT_THRESHOLD}"],
                       [[motif, float(value), round(float(value), FOOTPRINT_DECIMALS),
                         "reached" if footprint_reaches_threshold(value) else "below"]
                        for motif, value in check["max_by_motif"].items()],
                       digits={1: 5, 2: FOOTPRINT_DECIMALS}, css_id=f"{anchor}-footprint-maxima")


def add_run_sections(page: HtmlPage, run_root: str | os.PathLike, *, level: int = 2, anchor: str = "run") -> None:
    """Append one run folder's sections to ``page``.

    Append one run folder's sections to ``page`` (headings at ``level``), ``anchor`` prefixing the ids of its tables so
    that several runs fit on one page.
    """
    run_root = pathlib.Path(run_root)
    record = _read_json(run_root / "logs" / "run.json") or {}
    result = _read_json(run_root / "logs" / "result.json")
    metrics = _read_json(run_root / "evaluation" / "metrics.json")
    qc = _read_json(run_root / "evaluation" / "bias_qc.json")
    history = read_training_log(run_root / "logs" / TRAINING_LOG)  # epochs counted from 1
    params = record.get("parameters", {})
    evaluation = run_root / "evaluation"

    page.heading("Run", level)
    page.paragraph(f"Run folder: {run_root.resolve()}", css_class="note")
    page.table(["", "value"], _overview_rows(record, result, history, qc), css_id=f"{anchor}-overview")

    page.heading("Test metrics", level)
    if metrics:
        page.paragraph("Counts: Pearson and Spearman correlation and mean squared error of log(1 + total reads) "
                       "over the output window; profiles: median Jensen-Shannon distance between observed and "
                       "predicted base-resolution profiles (0 is perfect) and its normalised form (1 is perfect, 0 "
                       "no better than a flat profile), on the test chromosomes, as the official pipeline computes "
                       "them.")
        metrics_table(page, metrics, f"{anchor}-metrics")
    else:
        page.paragraph("evaluation/metrics.json is missing: the run did not reach its evaluation.", css_class="note")

    page.heading("Training", level)
    best = result["best_epoch"] if result else None
    caption = ("Loss per epoch, training and validation (total, profile part, count part). The dotted green line "
               "and the star mark the best epoch, the one with the lowest validation loss, whose weights the saved "
               f"model holds{f' (epoch {best})' if best else ''}.")
    if not page.figure_file(evaluation / "loss_curves.png", caption):
        page.paragraph("No loss-curve figure (run without figures, or matplotlib missing).", css_class="note")

    page.heading("Predictions on the test chromosomes", level)
    peaks_r = (metrics or {}).get("counts_metrics", {}).get("peaks", {}).get("pearsonr")
    all_r = (metrics or {}).get("counts_metrics", {}).get("peaks_and_nonpeaks", {}).get("pearsonr")
    r_words = "".join(f" Pearson r {label} = {value:.3f}." for label, value in (("in peaks", peaks_r),
                                                                                ("in all regions", all_r))
                      if isinstance(value, float) and math.isfinite(value))
    page.figure_file(evaluation / "logcounts_scatter.png",
                     "Observed against predicted log-counts per test region (dashed: equality)." + r_words)
    page.figure_file(evaluation / "profiles_best_and_median_peak.png",
                     "Observed reads (grey) and predicted reads (red: the predicted profile times the predicted "
                     "total), both summed in bins of the same width and drawn on one axis, at the test peak "
                     "predicted best (lowest Jensen-Shannon distance) and at the peak of median distance.")

    _add_bias_qc(page, qc, params.get("output_length"), level, anchor)

    page.heading("Inputs", level)
    inputs = record.get("inputs", {})
    page.table(["input", "file", "bytes", "SHA-256 (first 16)"],
               [[name, info.get("path", "?"), int(info.get("size", 0)), str(info.get("sha256", ""))[:16]]
                for name, info in inputs.items()], css_id=f"{anchor}-inputs")
    page.heading("Parameters", level)
    page.paragraph("Every resolved parameter (logs/run.json); `dream-keras "
                   f"{record.get('command', 'train')} --config {run_root.resolve() / 'logs' / 'run.json'} --out "
                   "NEW_FOLDER` repeats the run.", css_class="note")
    page.table(["parameter", "value"], [[key, display_value(value)] for key, value in params.items()],
               digits={1: None}, css_id=f"{anchor}-parameters")
    if record.get("data"):
        page.heading("Data", level)
        page.paragraph("Regions per split after the official filters, and values derived from the data.",
                       css_class="note")
        page.table(["", "value"], [[key, display_value(value)] for key, value in _flatten(record["data"])],
                   digits={1: None}, css_id=f"{anchor}-data")


def write_run_report(run_root: str | os.PathLike, path: str | os.PathLike | None = None) -> pathlib.Path:
    """Write the report of the run folder ``run_root`` to ``path`` (default ``run_root/evaluation/report.html``).

    Returns the path written.
    """
    run_root = pathlib.Path(run_root)
    record = _read_json(run_root / "logs" / "run.json") or {}
    params = record.get("parameters", {})
    kind = _KIND.get(record.get("command"), "run")
    page = HtmlPage(f"dream-keras report: {kind}, fold {params.get('fold', '?')}",
                    f"{params.get('backbone', '')} on {pathlib.Path(str(params.get('bigwig', '?'))).name}, "
                    f"{record.get('created', '')}")
    add_run_sections(page, run_root)
    return page.write(pathlib.Path(path) if path else run_root / "evaluation" / REPORT_NAME)
