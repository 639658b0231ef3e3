"""The report of a ``dream-keras pipeline`` folder: the stages, every run's sections, footprints and motifs.

It reads ``logs/pipeline.json``, the stages' completion records and the run folders they name
(:mod:`dream_keras.tasks.atac.reporting.run_report` draws each run's sections), the footprints stage's
``footprints.tsv`` and PNGs, and the motifs stage's folder
(:func:`dream_keras.interpret.motifs.motif_page.add_motif_sections`).
"""

from __future__ import annotations

import json
import os
import pathlib

from dream_keras.tasks.atac.reporting.html_page import HtmlPage, verdict_badge
from dream_keras.tasks.atac.reporting.run_report import add_run_sections, display_value


def _record(root: pathlib.Path, stage: str) -> dict | None:
    path = root / stage / "completed.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _stage_table(page: HtmlPage, root: pathlib.Path, stage_names: list[str]) -> None:
    rows, attributes = [], []
    for name in stage_names:
        record = _record(root, name)
        # the report stage's record is written after this page, so the page says what it is
        status = "complete" if record else "this page" if name == "report" else "not complete"
        rows.append([name, verdict_badge(status), (record or {}).get("finished", ""),
                     float((record or {}).get("seconds", 0.0)), str(root / name)])
        attributes.append([{"data-stage": name}, {"data-status": status}, {}, {}, {}])
    page.table(["stage", "status", "finished (UTC)", "seconds", "folder"], rows, css_id="stages",
               cell_attributes=attributes, digits={3: 1})


def _add_footprints(page: HtmlPage, root: pathlib.Path) -> None:
    import pandas as pd

    from dream_keras.interpret.footprint_files import footprint_file_name

    folder = root / "footprints"
    record = _record(root, "footprints")
    page.heading("Footprints", 2, anchor="footprints")
    table_path = folder / "footprints.tsv"
    if not table_path.is_file():
        page.paragraph("The footprints stage has not finished.", css_class="note")
        return
    summary = (record or {}).get("summary", {})
    enzyme = set(summary.get("enzyme_motifs", []))
    page.paragraph(
        "Each motif is written into the centre of background regions and the bias-free model predicts the "
        f"profile ({summary.get('n_sequences', '?')} {summary.get('background', 'background regions')}). The enzyme's "
        "own motifs should leave the bias-free model flat (the bias model absorbed them); a transcription factor "
        "the model learnt raises the predicted counts and leaves a footprint around the motif. 'counts' are the "
        "mean predicted reads with the motif and without it.")
    table = pd.read_csv(table_path, sep="\t")
    page.table(["motif", "kind", "sequence", "normalised max", "counts with motif", "counts without", "ratio"],
               [[row.motif, "enzyme" if row.motif in enzyme else "TF", row.sequence, float(row.normalized_max),
                 float(row.counts), float(row.baseline_counts),
                 float(row.counts / row.baseline_counts) if row.baseline_counts else float("nan")]
                for row in table.itertuples()], css_id="footprints-table")
    shown = 0
    page.raw('<div style="display: grid; grid-template-columns: repeat(auto-fill, minmax(430px, 1fr)); gap: 0 1em">')
    for motif in table["motif"]:
        kind = "enzyme motif" if motif in enzyme else "TF motif"
        shown += page.figure_file(folder / footprint_file_name(str(motif)),
                                  f"{motif} ({kind}): normalised footprint around the inserted motif (blue) and "
                                  "without it (grey).")
    page.raw("</div>")
    if not shown:
        page.paragraph("No footprint figures (matplotlib missing).", css_class="note")


def _add_motifs(page: HtmlPage, root: pathlib.Path) -> None:
    """The motifs stage: the motif bias check, then the patterns with their logos and matches."""
    from dream_keras.interpret.motifs.motif_page import add_motif_sections
    from dream_keras.tasks.atac.reporting.run_report import check_box

    page.heading("Motifs", 2, anchor="motifs")
    record = _record(root, "motifs")
    if not record:
        page.paragraph("The motifs stage has not finished.", css_class="note")
        return
    summary = record.get("summary", {})
    page.paragraph(f"The {summary.get('method', '?')} contributions ({summary.get('output', '?')}) of the bias-free "
                   f"model on {summary.get('peaks', '?')} peaks, as the official pipeline's TF-MoDISco step; every "
                   "file is in the motifs/ folder (motifs.html is this section on its own page).")
    check = summary.get("motif_check")
    if check:
        page.raw(check_box("motif", check, 3))
    add_motif_sections(page, root / "motifs", level=3, anchor="motifs")


def _add_fold_summary(page: HtmlPage, path: pathlib.Path) -> None:
    """``--fold all``: every fold's test metrics with their mean and standard deviation (summary.tsv)."""
    import pandas as pd

    if not path.is_file():
        return
    table = pd.read_csv(path, sep="\t")
    page.heading("Across folds", 3)
    page.paragraph("Each fold's test metrics, their mean and standard deviation over folds (summary.tsv).",
                   css_class="note")
    page.table(list(table.columns), [[value.item() if hasattr(value, "item") else value for value in row]
                                     for row in table.itertuples(index=False)], css_id="fold-summary")


def write_pipeline_report(root: str | os.PathLike, path: str | os.PathLike | None = None, *,
                          stage_names: list[str] | None = None) -> pathlib.Path:
    """Write the report of the pipeline folder ``root`` to ``path`` (default ``root/report/report.html``).

    ``stage_names``: the stages in order (default: those with a folder in ``root``).
    """
    root = pathlib.Path(root).resolve()
    pipeline = json.loads((root / "logs" / "pipeline.json").read_text())
    params = pipeline.get("parameters", {})
    names = stage_names or sorted(p.name for p in root.iterdir() if (p / "completed.json").is_file())
    signal = params.get("bigwig") or params.get("reads")
    page = HtmlPage("dream-keras pipeline report",
                    f"{pathlib.Path(str(signal)).name}, {pathlib.Path(str(params.get('peaks'))).name}, fold "
                    f"{params.get('fold')}; started {pipeline.get('created', '')}")
    page.heading("Stages", 2, anchor="stages")
    page.paragraph(f"Pipeline folder: {root.resolve()}. `dream-keras pipeline --out {root.resolve()} --resume` "
                   "skips the complete stages and continues from the first that is not.", css_class="note")
    _stage_table(page, root, names)

    main = _record(root, "chrombpnet")
    folds = (main or {}).get("summary", {}).get("folds", [])
    if folds:
        page.heading("Verdicts", 2)
        rows = []
        # the motifs stage explains the first fold's bias-free model
        motif_check = ((_record(root, "motifs") or {}).get("summary", {}).get("motif_check") or {})
        for number, fold in enumerate(folds):
            checks = {**fold.get("bias_qc", {}), "motif": motif_check if number == 0 else {}}
            rows.append([fold["fold"], *(verdict_badge(checks.get(name, {}).get("verdict", "not run"))
                                         for name in ("count", "footprint", "motif")),
                         float(fold["metrics"].get("peaks", {}).get("pearsonr", float("nan"))),
                         float(fold["metrics"].get("peaks", {}).get("median_jsd", float("nan")))])
        page.table(["fold", "count check", "footprint check", "motif check", "count Pearson r (test peaks)",
                    "profile median JSD (test peaks)"], rows, css_id="verdicts")
        page.paragraph("Each check is explained, with what to do when it fails, in the model's section below.",
                       css_class="note")

    bias = _record(root, "bias")
    page.heading("Bias model", 2, anchor="bias")
    if bias and bias.get("summary", {}).get("source") == "given":
        page.paragraph(f"Given with --bias-model: {bias['summary'].get('path')}; not trained here.")
    elif (root / "bias" / "logs" / "run.json").is_file():
        add_run_sections(page, root / "bias", level=3, anchor="bias")
    else:
        page.paragraph("The bias stage has not finished.", css_class="note")

    page.heading("Bias-factorised model", 2, anchor="main")
    if not folds:
        page.paragraph("The training stage has not finished.", css_class="note")
    _add_fold_summary(page, root / "chrombpnet" / "summary.tsv")
    for fold in folds:
        if len(folds) > 1:
            page.heading(str(fold["fold"]), 3)
        add_run_sections(page, root / fold["run"], level=3 if len(folds) == 1 else 4,
                         anchor=f"main-{str(fold['fold']).replace(' ', '-')}")
    _add_footprints(page, root)
    _add_motifs(page, root)

    page.heading("Pipeline parameters", 2, anchor="parameters")
    page.table(["parameter", "value"], [[key, display_value(value)] for key, value in params.items()],
               digits={1: None}, css_id="pipeline-parameters")
    signal_record = _record(root, "bigwig")
    if signal_record:
        page.paragraph(f"Signal: {json.dumps(signal_record.get('summary', {}), sort_keys=True)}", css_class="note")
    return page.write(pathlib.Path(path) if path else root / "report" / "report.html")
