"""One self-contained HTML page: headings, paragraphs, tables and PNG figures embedded as base64.

Every piece of text that comes from a user or a file (paths, parameter values, messages) goes through
:func:`html.escape` here, so a region or file name holding ``<`` or ``&`` cannot break the page.
The page has no script and loads nothing from outside (styles inline, images as ``data:`` URIs), so
it opens offline, in an e-mail attachment, or from an archive.
"""

from __future__ import annotations

import base64
import html
import os
import pathlib

from data_prep.outputs.atomic import write_text_atomic

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #1d2329; background: #fafbfc; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 1.2em 1.6em 3em; }
h1 { font-size: 1.55em; margin: 0.4em 0 0.1em; }
h2 { font-size: 1.25em; margin: 1.6em 0 0.4em; border-bottom: 2px solid #d0d7de; padding-bottom: 0.15em; }
h3 { font-size: 1.05em; margin: 1.1em 0 0.3em; }
p.subtitle { color: #57606a; margin-top: 0; }
p.note { color: #57606a; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.4em 0 0.8em; font-size: 0.92em; background: #fff; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f3f6; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td code, p code { font-size: 0.92em; word-break: break-all; }
figure { margin: 0.6em 0 1.2em; }
figure img { max-width: 100%; border: 1px solid #d0d7de; background: #fff; }
figcaption { color: #57606a; font-size: 0.9em; margin-top: 0.2em; }
.verdict { display: inline-block; padding: 0.05em 0.55em; border-radius: 0.8em; font-weight: 600;
           font-size: 0.9em; }
.verdict.good { background: #dafbe1; color: #116329; }
.verdict.warn { background: #fff8c5; color: #7d4e00; }
.verdict.bad { background: #ffebe9; color: #a40e26; }
.verdict.neutral { background: #eaeef2; color: #424a53; }
div.check { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5em 0.9em;
            margin: 0.6em 0; }
"""

#: Verdict words -> badge colour class.
_VERDICT_CLASS = {"pass": "good", "corrected": "good", "complete": "good", "ran": "good",
                  "warn": "warn", "skipped": "neutral", "fail": "bad", "uncorrected": "bad"}


class Markup(str):
    """HTML already escaped (built by this module's helpers): a table cell inserts it as it is."""


def text(value) -> str:
    """``value`` as escaped HTML text (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def number(value, digits: int | None = 4) -> str:
    """A number formatted for a table cell.

    ``digits`` decimals, or (``None``) up to 6 significant digits as written (for parameters such as a learning rate);
    ``NaN`` and text pass through escaped.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return text(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:  # NaN
        return "NaN"
    return f"{value:.6g}" if digits is None else f"{value:.{digits}f}"


class HtmlPage:
    """A page built from parts in order; :meth:`render` gives the HTML text, :meth:`write` the file.

    Methods that take ``raw_html`` expect markup built with this class's helpers (already escaped);
    every other string argument is escaped.
    """

    def __init__(self, title: str, subtitle: str = ""):
        self.title = title
        self.parts: list[str] = [f"<h1>{text(title)}</h1>"]
        if subtitle:
            self.parts.append(f'<p class="subtitle">{text(subtitle)}</p>')

    def heading(self, title: str, level: int = 2, anchor: str | None = None) -> None:
        """Add a heading (escaped) at ``level``, with an id when ``anchor`` is given."""
        ident = f' id="{text(anchor)}"' if anchor else ""
        self.parts.append(f"<h{level}{ident}>{text(title)}</h{level}>")

    def paragraph(self, words: str, *, css_class: str | None = None) -> None:
        """Add a paragraph of text (escaped)."""
        cls = f' class="{text(css_class)}"' if css_class else ""
        self.parts.append(f"<p{cls}>{text(words)}</p>")

    def raw(self, raw_html: str) -> None:
        """Add HTML as it is."""
        self.parts.append(raw_html)

    def table(self, header: list[str], rows: list[list], *, css_id: str | None = None,
              cell_attributes: list[list[dict]] | None = None, digits: dict | None = None) -> None:
        """A table.

        ``rows`` hold values (numbers are right-aligned and formatted, :class:`Markup` is inserted as it is, anything
        else is escaped). ``digits``: ``{column index: decimals}`` for float columns (default 4).

        ``cell_attributes``: per row, per cell, extra ``data-*`` attributes (escaped), so a reader
        (or a test) can find a cell's exact value without parsing the formatted text.
        """
        ident = f' id="{text(css_id)}"' if css_id else ""
        lines = [f"<table{ident}>", "<thead><tr>" + "".join(f"<th>{text(h)}</th>" for h in header) + "</tr></thead>",
                 "<tbody>"]
        for r, row in enumerate(rows):
            cells = []
            for c, value in enumerate(row):
                attributes = (cell_attributes[r][c] if cell_attributes else None) or {}
                extra = "".join(f' {text(key)}="{text(val)}"' for key, val in attributes.items())
                numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
                cls = ' class="number"' if numeric else ""
                shown = value if isinstance(value, Markup) else number(value, (digits or {}).get(c, 4))
                cells.append(f"<td{cls}{extra}>{shown}</td>")
            lines.append("<tr>" + "".join(cells) + "</tr>")
        lines.append("</tbody></table>")
        self.parts.append("\n".join(lines))

    def figure(self, png: bytes, caption: str, *, alt: str | None = None) -> None:
        """A PNG image embedded as a ``data:`` URI, with a caption."""
        encoded = base64.b64encode(png).decode("ascii")
        self.parts.append(f'<figure><img src="data:image/png;base64,{encoded}" alt="{text(alt or caption)}">'
                          f"<figcaption>{text(caption)}</figcaption></figure>")

    def figure_file(self, path: str | os.PathLike, caption: str) -> bool:
        """Embed the PNG at ``path`` when it exists; return whether it did."""
        path = pathlib.Path(path)
        if not path.is_file():
            return False
        self.figure(path.read_bytes(), caption)
        return True

    def render(self) -> str:
        """The whole page as one HTML document."""
        body = "\n".join(self.parts)
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{text(self.title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
                f"<body><main>\n{body}\n</main></body>\n</html>\n")

    def write(self, path: str | os.PathLike) -> pathlib.Path:
        """Write the page through a temporary file (a reader never sees half a page)."""
        return write_text_atomic(path, self.render())


def verdict_badge(verdict: str) -> Markup:
    """An escaped, coloured badge for a verdict word (``pass``, ``warn``, ``fail``, ``corrected``...)."""
    return Markup(f'<span class="verdict {_VERDICT_CLASS.get(str(verdict), "neutral")}">{text(verdict)}</span>')
