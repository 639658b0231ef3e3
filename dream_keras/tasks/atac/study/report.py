"""``STUDY/report.html``: one offline page over every sample of a study.

An index of the samples (state, depth, bias model, a link to each sample's own report), the metrics
and bias checks of ``summary.tsv`` side by side, the count scatter of every finished sample in one
grid (the PNGs embedded), and the samples that have not finished. Links to the per-sample reports
are relative, so the page works wherever the study folder is copied.
"""

from __future__ import annotations

import pathlib

from dream_keras.tasks.atac.reporting.html_page import HtmlPage, Markup, text, verdict_badge
from dream_keras.tasks.atac.study.sample_sheet import SampleSheet

#: (summary column, table title) of the metrics table
_METRICS = (("counts_pearsonr_peaks", "count Pearson r (peaks)"),
            ("counts_spearmanr_peaks", "count Spearman r (peaks)"),
            ("counts_mse_peaks", "count MSE (peaks)"), ("profile_median_jsd_peaks", "profile median JSD (peaks)"),
            ("profile_median_norm_jsd_peaks", "profile median norm. JSD (peaks)"),
            ("counts_pearsonr_all", "count Pearson r (all)"))


def _link(href: str | None, label: str) -> Markup:
    if not href:
        return Markup(text(label))
    return Markup(f'<a href="{text(href)}">{text(label)}</a>')


def write_study_report(summary, sheet: SampleSheet, out: pathlib.Path) -> pathlib.Path:
    """Write ``out/report.html`` from a :class:`~dream_keras.tasks.atac.study.summary.StudySummary`."""
    finished = sorted({row["sample"] for row in summary.rows if row["status"] == "finished"})
    page = HtmlPage("dream-keras study report",
                    f"{len(finished)} of {len(sheet.rows)} samples finished; sample sheet {sheet.path}")
    page.heading("Samples", 2, anchor="samples")
    page.paragraph("Each sample is a pipeline folder of its own (its report is linked). `dream-keras pipeline "
                   f"--samples {sheet.path} --out {out} --summarize` makes this page again from whatever has finished.",
                   css_class="note")
    seen, rows, attributes = set(), [], []
    for row in summary.rows:
        if row["sample"] in seen:
            continue
        seen.add(row["sample"])
        state = "complete" if row["status"] == "finished" else row["status"]
        rows.append([_link(row["report"], row["sample"]), verdict_badge(state),
                     row["insertions"] if row["insertions"] is not None else "", row["bias_model"] or "",
                     str(row["fold"] or "")])
        attributes.append([{"data-sample": row["sample"], "data-report": row["report"] or ""},
                           {"data-status": row["status"]}, {}, {}, {}])
    page.table(["sample (report)", "state", "insertions", "bias model", "fold"], rows, css_id="samples",
               cell_attributes=attributes)

    page.heading("Test metrics and bias checks", 2, anchor="metrics")
    page.paragraph("Per sample and fold, on the test chromosomes (as in each sample's report): count correlations "
                   "and MSE of log(1 + reads), profile Jensen-Shannon distance (0 is perfect) and its normalised form "
                   "(1 is perfect); the bias checks: the bias model's count Pearson r in test peaks (count check) and "
                   "the largest enzyme-motif footprint of the bias-free model (footprint check, bound 0.003).",
                   css_class="note")
    metric_rows, metric_attributes = [], []
    for row in summary.rows:
        if row["status"] != "finished":
            continue
        values = [row[column] if row[column] is not None else float("nan") for column, _ in _METRICS]
        metric_rows.append([row["sample"], str(row["fold"] or ""), *values,
                            verdict_badge(row["bias_count_check"] or "not run"),
                            verdict_badge(row["bias_footprint_check"] or "not run")])
        metric_attributes.append([{"data-sample": row["sample"]}, {}]
                                 + [{"data-metric": column, "data-value": repr(row[column])} for column, _ in _METRICS]
                                 + [{"data-check": "count", "data-verdict": row["bias_count_check"] or ""},
                                    {"data-check": "footprint", "data-verdict": row["bias_footprint_check"] or ""}])
    if metric_rows:
        page.table(["sample", "fold", *(title for _, title in _METRICS), "count check", "footprint check"],
                   metric_rows, css_id="metrics", cell_attributes=metric_attributes)
    else:
        page.paragraph("No sample has finished yet.", css_class="note")

    page.heading("Observed against predicted log-counts", 2, anchor="scatters")
    page.raw('<div style="display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 0 1em">')
    shown = 0
    for label, png, pearson in summary.scatters:
        words = f" (count Pearson r in peaks {pearson:.3f})" if isinstance(pearson, float) else ""
        shown += page.figure_file(png, f"{label}{words}")
    page.raw("</div>")
    if not shown:
        page.paragraph("No count scatter yet (no sample has finished, or figures were not drawn).", css_class="note")

    if summary.not_finished:
        page.heading("Not finished", 2, anchor="not-finished")
        page.table(["sample", "state"], [[name, state] for name, state in summary.not_finished.items()],
                   css_id="not-finished")
    return page.write(out / "report.html")
