"""``STUDY/summary.tsv``: every sample's state, depth, test metrics and bias checks in one table.

Read from the sample folders alone (stage completion records, the bigWig's header), so it can be
made at any time, while other samples still run (``pipeline --samples ... --summarize``). One line
per sample and fold (a ``--fold all`` study has five per sample); a sample that has not finished has
one line with its state and empty metrics.

Columns (:data:`COLUMNS`): ``sample``, ``status`` (``finished``, ``not finished (next stage: S)``,
``not started``), ``fold``, ``insertions`` (the bigWig's total), ``bias_model`` (``trained`` or the
file given or shared), ``best_epoch``, ``epochs_trained``, the test metrics in peaks (count Pearson,
Spearman and MSE of log counts, profile median JSD and median normalised JSD), the count Pearson in
peaks and nonpeaks together, the bias checks (count check verdict and its Pearson r in test peaks,
footprint check verdict and the largest enzyme-motif footprint), and ``report`` (the sample's
report, relative to the study folder).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib

from data_prep.outputs import write_text_atomic
from dream_keras.tasks.atac.study.sample_sheet import SampleSheet

SUMMARY_NAME = "summary.tsv"
REPORT_NAME = "report.html"
STAGE_NAMES = ("bigwig", "nonpeaks", "bias", "chrombpnet", "footprints", "report")
#: (column, test subset, metric) of the training stage's per-fold metrics
METRIC_COLUMNS = (("counts_pearsonr_peaks", "peaks", "pearsonr"),
                  ("counts_spearmanr_peaks", "peaks", "spearmanr"),
                  ("counts_mse_peaks", "peaks", "mse"),
                  ("profile_median_jsd_peaks", "peaks", "median_jsd"),
                  ("profile_median_norm_jsd_peaks", "peaks", "median_norm_jsd"),
                  ("counts_pearsonr_all", "peaks_and_nonpeaks", "pearsonr"))
COLUMNS = ("sample", "status", "fold", "insertions", "bias_model", "best_epoch", "epochs_trained",
           *(c for c, _, _ in METRIC_COLUMNS), "bias_count_check", "bias_count_pearsonr", "bias_footprint_check",
           "bias_footprint_max", "report")


@dataclasses.dataclass
class StudySummary:
    """The study's state.

    ``rows`` (one dict per sample and fold, keys :data:`COLUMNS`), the samples not finished with their state,
    the scatter figure of each finished fold, and the files written.
    """

    rows: list
    not_finished: dict
    scatters: list
    summary_path: pathlib.Path
    report_path: pathlib.Path

    def lines(self) -> list[str]:
        """The console lines of the summary: samples finished, the files written, each unfinished sample.

        Returns:
            The lines, without line ends.
        """
        finished = sorted({row["sample"] for row in self.rows if row["status"] == "finished"})
        lines = [f"study: {len(finished)} of {len(finished) + len(self.not_finished)} samples finished; "
                 f"{self.summary_path}, {self.report_path}"]
        lines += [f"  not finished: {name} ({state})" for name, state in self.not_finished.items()]
        return lines


def _record(root: pathlib.Path, stage: str) -> dict | None:
    from dream_keras.tasks.atac.pipeline.stage_records import read_record

    record = read_record(root, root / stage)
    return None if record is None else {"outputs": record.outputs, "summary": record.summary}


def insertions_of(path: str | os.PathLike) -> int | None:
    """The total of a sample's bigWig, or None when it cannot be read (moved or removed since)."""
    from data_prep.reads.bigwig_writing import bigwig_total

    try:
        return bigwig_total(path)
    except (RuntimeError, OSError, TypeError, KeyError):
        return None


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def sample_rows(name: str, root: pathlib.Path, study: pathlib.Path) -> tuple[list[dict], str, list]:
    """The summary lines of one sample folder, its state, and its count scatters ``[(label, png path, r)]``."""
    empty = {column: None for column in COLUMNS}
    if not (root / "logs" / "pipeline.json").is_file():
        return [{**empty, "sample": name, "status": "not started"}], "not started", []
    records = {stage: _record(root, stage) for stage in STAGE_NAMES}
    pending = next((stage for stage in STAGE_NAMES if records[stage] is None), None)
    status = "finished" if pending is None else f"not finished (next stage: {pending})"
    params = json.loads((root / "logs" / "pipeline.json").read_text()).get("parameters", {})
    signal = (records["bigwig"] or {}).get("outputs", {}).get("bigwig")
    insertions = insertions_of(signal) if signal else None
    bias = records["bias"]
    if bias is None:
        bias_source = None
    elif bias["summary"].get("source") == "trained":
        bias_source = "trained"
    else:
        bias_source = os.path.relpath(str(bias["summary"].get("path")), study)
    folds = (records["chrombpnet"] or {}).get("summary", {}).get("folds", [])
    base = {**empty, "sample": name, "status": status, "insertions": insertions, "bias_model": bias_source,
            "fold": params.get("fold")}
    if records["report"] is not None:
        base["report"] = os.path.relpath(str(records["report"]["outputs"]["report"]), study)
    if not folds:
        return [base], status, []
    rows, scatters = [], []
    for fold in folds:
        metrics, qc = fold.get("metrics", {}), fold.get("bias_qc", {})
        row = {**base, "fold": fold.get("fold"), "best_epoch": fold.get("best_epoch"),
               "epochs_trained": fold.get("epochs_trained")}
        for column, subset, key in METRIC_COLUMNS:
            row[column] = _number(metrics.get(subset, {}).get(key))
        count, footprint = qc.get("count") or {}, qc.get("footprint") or {}
        row["bias_count_check"] = count.get("verdict")
        row["bias_count_pearsonr"] = _number(count.get("pearsonr_in_test_peaks"))
        row["bias_footprint_check"] = footprint.get("verdict")
        maxima = [v for v in (footprint.get("max_by_motif") or {}).values() if _number(v) is not None]
        row["bias_footprint_max"] = max(maxima) if maxima else None
        rows.append(row)
        scatter = root / fold.get("run", "chrombpnet") / "evaluation" / "logcounts_scatter.png"
        label = name if len(folds) == 1 else f"{name}, {fold.get('fold')}"
        scatters.append((label, scatter, row["counts_pearsonr_peaks"]))
    return rows, status, scatters


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value).replace("\t", " ").replace("\n", " ")


def summarize_study(sheet: SampleSheet, out: str | os.PathLike) -> StudySummary:
    """Write ``out/summary.tsv`` and ``out/report.html`` for every sample of ``sheet`` (finished or not)."""
    from dream_keras.tasks.atac.study.report import write_study_report

    out = pathlib.Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows, not_finished, scatters = [], {}, []
    for name in sheet.names():
        sample, status, figures = sample_rows(name, out / name, out)
        rows += sample
        scatters += figures
        if status != "finished":
            not_finished[name] = status
    text = "\t".join(COLUMNS) + "\n" + "".join("\t".join(_cell(row[c]) for c in COLUMNS) + "\n" for row in rows)
    summary_path = write_text_atomic(out / SUMMARY_NAME, text)
    summary = StudySummary(rows=rows, not_finished=not_finished, scatters=scatters, summary_path=summary_path,
                           report_path=out / REPORT_NAME)
    write_study_report(summary, sheet, out)
    return summary
