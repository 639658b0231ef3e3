"""``motifs.html``: one offline page of a motif discovery folder (logos, seqlet counts, best matches).

Everything comes from the folder's files (``motifs.json``, ``motifs.tsv``, ``logos/*.png``), so the
pipeline report shows the same section (:func:`add_motif_sections`) and a page can be made again
at any time. Images are embedded as ``data:`` URIs and text is escaped by
:mod:`dream_keras.tasks.atac.reporting.html_page` (its page builder is generic; it lives with the
reports it was written for).
"""

from __future__ import annotations

import base64
import json
import os
import pathlib

import pandas as pd

from dream_keras.interpret.motifs.discovery import match_logo_name
from dream_keras.tasks.atac.reporting.html_page import HtmlPage, Markup, text, verdict_badge


def _image(path: pathlib.Path, alt: str, width: int = 190) -> str:
    if not path.is_file():
        return f'<span class="note">({text(alt)}: no logo)</span>'
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{text(alt)}" style="max-width: {width}px">'


def _match_cell(folder: pathlib.Path, row, rank: int, q_threshold: float) -> Markup:
    identifier = str(getattr(row, f"match_{rank}"))
    if not identifier:
        return Markup("")
    name = str(getattr(row, f"match_{rank}_name"))
    label = identifier if name == identifier else f"{identifier} {name}"
    p_value, q_value = float(getattr(row, f"match_{rank}_p")), float(getattr(row, f"match_{rank}_q"))
    reverse = str(getattr(row, f"match_{rank}_strand", "+")) == "-"
    strong = "<b>" if q_value < q_threshold else ""
    turned = " (reverse complement)" if reverse else ""
    return Markup(f'{_image(folder / "logos" / match_logo_name(identifier, reverse), label, 150)}<br>'
                  f'{strong}{text(label)}{"</b>" if strong else ""}{text(turned)}<br>'
                  f'<span data-q="{q_value!r}" data-p="{p_value!r}">q = {q_value:.2g}, p = {p_value:.2g}</span>')


def add_motif_sections(page: HtmlPage, folder: str | os.PathLike, *, level: int = 2, anchor: str = "motifs") -> bool:
    """Append a motif discovery folder's sections to ``page``; return whether the folder had results."""
    folder = pathlib.Path(folder)
    summary_path, table_path = folder / "motifs.json", folder / "motifs.tsv"
    if not summary_path.is_file() or not table_path.is_file():
        page.paragraph(f"No motif discovery results in {folder}.", css_class="note")
        return False
    summary = json.loads(summary_path.read_text())
    table = pd.read_csv(table_path, sep="\t", keep_default_na=False)
    seqlets, patterns = summary["seqlets"], summary["patterns"]
    attributes = summary.get("attributes", {})
    explained = ", ".join(f"{key} {attributes[key]}" for key in ("method", "output") if key in attributes)
    page.paragraph(
        f"TF-MoDISco (modisco-lite) on the hypothetical contribution scores of {summary['regions']:,} regions "
        f"({explained or 'contributions'}), the central {summary['window']} bp of {summary['length']} bp: "
        f"{seqlets['pos']:,} positive and {seqlets['neg']:,} negative seqlets (at most "
        f"{summary['max_seqlets']:,} per sign used) gave {patterns['pos']} positive and {patterns['neg']} negative "
        f"patterns. Each pattern, trimmed to the positions whose contribution reaches "
        f"{summary['trim_threshold']} of its maximum, was compared with the {summary['database_motifs']:,} motifs of "
        f"{pathlib.Path(summary['database']).name} by TOMTOM (memelite); a pattern is named after its best match "
        f"when that match's q-value is below {summary['q_threshold']}.")
    page.paragraph(f"Contributions: {summary['contributions']}. Results: {folder / 'modisco_results.h5'} "
                   f"(TF-MoDISco's layout; `modisco report -i` reads it), table: {table_path}.", css_class="note")
    if table.empty:
        why = (f"TF-MoDISco builds patterns from a sign's seqlets only when there are more than "
               f"{summary.get('min_metacluster_seqlets', 100)} of them")
        page.raw(f'<div class="check" id="{text(anchor)}-empty"><p><b>No pattern was found.</b> {text(why)}; here '
                 f"there were {seqlets['pos']:,} positive and {seqlets['neg']:,} negative seqlets. More regions "
                 "(or a model that learnt more) give more seqlets.</p></div>")
        return True
    top = int(summary.get("top_matches", 3))
    q_threshold = float(summary["q_threshold"])
    rows, attributes_per_row = [], []
    for row in table.itertuples():
        badge = verdict_badge("enzyme motif") if row.enzyme_motif else Markup("")
        rows.append([Markup(f"{text(row.pattern)}<br>{text(row.name or '(unnamed)')} {badge}"), row.sign,
                     int(row.n_seqlets),
                     Markup(_image(folder / "logos" / f"{row.pattern}.cwm.png", f"{row.pattern} CWM") + "<br>" +
                            _image(folder / "logos" / f"{row.pattern}.pwm.png", f"{row.pattern} PWM")),
                     *[_match_cell(folder, row, rank, q_threshold) for rank in range(1, top + 1)]])
        attributes_per_row.append([{"data-pattern": row.pattern, "data-name": row.name}, {"data-sign": row.sign},
                                   {"data-seqlets": str(row.n_seqlets)}, {}, *[{} for _ in range(top)]])
    page.table(["pattern", "sign", "seqlets", "CWM (top) and PWM logo", *[f"match {rank}" for rank in
                                                                          range(1, top + 1)]],
               rows, css_id=f"{anchor}-patterns", cell_attributes=attributes_per_row)
    return True


def write_motif_page(folder: str | os.PathLike, path: str | os.PathLike, *, title: str | None = None) -> pathlib.Path:
    """Write ``motifs.html`` of a motif discovery folder (written under a temporary name, then renamed)."""
    folder = pathlib.Path(folder)
    summary = json.loads((folder / "motifs.json").read_text())
    page = HtmlPage(title or "dream-keras motifs",
                    f"TF-MoDISco patterns of {pathlib.Path(summary['contributions']).name}"
                    " named against a motif database")
    page.heading("Patterns", 2, anchor="patterns")
    add_motif_sections(page, folder)
    return page.write(path)
