"""Reading an HTML report back the way a browser would (html.parser), for the report tests.

``parse_report`` collects every image source, every table cell with its attributes, every
reference to something outside the file and every script, so a test can say: the page is one
self-contained file, every figure decodes as an image, and the tables hold the numbers.
"""

from __future__ import annotations

import base64
import dataclasses
import html.parser
import io
import pathlib
import shutil
import subprocess

import pytest

DATA_PNG = "data:image/png;base64,"


@dataclasses.dataclass
class ParsedReport:
    images: list = dataclasses.field(default_factory=list)        # img src values
    cells: list = dataclasses.field(default_factory=list)         # (attributes dict, text)
    external: list = dataclasses.field(default_factory=list)      # (tag, attribute, value) leaving the file
    scripts: int = 0
    text: str = ""


class _Reader(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.report = ParsedReport()
        self._cell = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.report.scripts += 1
        if tag == "img":
            self.report.images.append(attributes.get("src", ""))
        for name in ("src", "href"):
            value = attributes.get(name)
            if value is not None and not value.startswith("data:") and not value.startswith("#"):
                self.report.external.append((tag, name, value))
        if tag == "link":
            self.report.external.append((tag, "rel", attributes.get("rel")))
        if tag == "td":
            self._cell = (attributes, [])

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            attributes, parts = self._cell
            self.report.cells.append((attributes, "".join(parts).strip()))
            self._cell = None

    def handle_data(self, data):
        self._text.append(data)
        if self._cell is not None:
            self._cell[1].append(data)

    def close(self):
        super().close()
        self.report.text = " ".join(" ".join(self._text).split())


def parse_report(path) -> ParsedReport:
    reader = _Reader()
    reader.feed(pathlib.Path(path).read_text(encoding="utf-8"))
    reader.close()
    return reader.report


def decoded_image_sizes(report: ParsedReport) -> list[tuple[int, int]]:
    """Decode every embedded image with PIL (fully: ``load``); returns their (width, height)."""
    from PIL import Image

    sizes = []
    for source in report.images:
        assert source.startswith(DATA_PNG), f"image not embedded as base64 PNG: {source[:60]}"
        image = Image.open(io.BytesIO(base64.b64decode(source[len(DATA_PNG):], validate=True)))
        assert image.format == "PNG"
        image.load()
        sizes.append(image.size)
    return sizes


def metric_cells(report: ParsedReport) -> list:
    """The metrics tables' cells, in page order.

    ``[((group, subset, metric), shown text, exact value), ...]`` of the metrics tables' cells, in page order (a
    pipeline report holds several tables).
    """
    return [((a["data-group"], a["data-subset"], a["data-metric"]), shown, float(a["data-value"]))
            for a, shown in report.cells if "data-metric" in a]


def chromium() -> str | None:
    """The headless browser of this machine (Debian's ``chromium``), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: marks a test that renders a report in headless Chromium: skipped, with the reason, where none is
#: installed (.ci/run installs it on CI machines; the parser-based tests still check the page)
needs_chromium = pytest.mark.skipif(chromium() is None, reason="no headless Chromium on this machine (Debian: "
                                                               "apt-get install chromium); the parser tests still "
                                                               "check the page")


def chromium_screenshot(page: pathlib.Path, out: pathlib.Path, width: int = 1200, height: int = 3000) -> None:
    """Render ``page`` in headless Chromium to the PNG ``out`` (no network, no sandbox: tests run as root)."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--disable-background-networking", f"--window-size={width},{height}", f"--screenshot={out}",
               page.resolve().as_uri()]
    # hang guard only (1200 s): a render takes a few seconds
    subprocess.run(command, capture_output=True, text=True, timeout=1200, check=True)


def chromium_dom(page: pathlib.Path) -> str:
    """The DOM headless Chromium builds from ``page`` (``--dump-dom``)."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=1200, check=True).stdout
