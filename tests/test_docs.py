"""The documentation site: its examples run, its generated reference is whole, every public name is documented.

The site's build (``mkdocs build --strict`` in ``.ci/run``) checks links, anchors and docstrings; these tests
check what the build cannot: that every marked example of the tutorials runs on the bundled data, in order,
in one folder, and that the generated parts cover what they claim to cover.
"""

import importlib.util
import json
import pathlib
import shlex
import sys
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load(name: str, path: pathlib.Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


docs_examples = _load("docs_examples", ROOT / "benchmarks" / "docs_examples.py")
cli_reference = _load("cli_reference", DOCS / "hooks" / "cli_reference.py")
api_coverage = _load("api_coverage", DOCS / "hooks" / "api_coverage.py")


@pytest.mark.slow  # every tutorial command on the bundled data, tiny models (about two minutes on 2 cores)
def test_every_example_runs_in_order(tmp_path, monkeypatch):
    """Every marked example, in order, in one folder, in-process (one TensorFlow start for all of them).

    ``--jit-compile auto`` is answered "off" without timing, as for every in-process run of the tests
    (``conftest.xla_off``): on these tiny models XLA's compilations cost more than the whole training.
    """
    from dream_keras.cli import main

    monkeypatch.chdir(tmp_path)
    namespace = {}
    for example in docs_examples.documentation_examples(ROOT):
        where = f"{example.page}, block {example.block!r}: {example.code[:120]}"
        started = time.perf_counter()
        if example.language == "python":
            exec(compile(example.code, f"{example.page}:{example.block}", "exec"), namespace)  # noqa: S102 - own docs
        else:
            assert main(shlex.split(example.code)[1:]) == 0, where
        # Shown with -s (or on a failure): where the test's time goes.
        print(f"example {example.block:14s} {time.perf_counter() - started:6.1f} s  {example.code[:80]!r}")
    # What the examples promise, checked on what they wrote.
    assert (tmp_path / "runs" / "bpnet" / "evaluation" / "metrics.json").is_file()
    assert (tmp_path / "runs" / "pipeline" / "report" / "report.html").is_file()
    # the pipeline ran from reads: its reads stage made the bigWig that its training read
    record = json.loads((tmp_path / "runs" / "pipeline" / "bigwig" / "completed.json").read_text())
    assert record["outputs"]["bigwig"]["path"] == "bigwig/signal.bw"
    assert record["summary"]["reads_summary"]["kept"] > 10_000
    assert record["summary"]["reads_summary"]["data_type"] == "ATAC"
    run = json.loads((tmp_path / "runs" / "pipeline" / "chrombpnet" / "logs" / "run.json").read_text())
    bigwig = pathlib.Path(run["parameters"]["bigwig"]).resolve()  # (the examples ran in tmp_path)
    assert bigwig == (tmp_path / "runs" / "pipeline" / "bigwig" / "signal.bw").resolve()
    assert (tmp_path / "runs" / "predictions" / "nobias.bw").is_file()
    assert (tmp_path / "runs" / "contribs" / "peaks.counts_scores.h5").is_file()
    assert all((tmp_path / "runs" / "motifs" / name).is_file() for name in ("motifs.html", "motifs.tsv"))
    assert (tmp_path / "serving" / "atac" / "1" / "saved_model.pb").is_file()
    assert namespace["predicted"]["profile"].shape[1:] == (1000,)
    assert namespace["predicted"]["logcounts"].shape[1:] == (1,)
    assert namespace["scores"].shape == (4, 2114, 4) and np.isfinite(namespace["scores"]).all()
    assert (tmp_path / "dream_cnn_atac.keras").stat().st_size > 0
    assert (tmp_path / "serving" / "atac_dream_cnn" / "1" / "saved_model.pb").is_file()


def test_cli_reference_names_every_command_and_option():
    from dream_keras.cli import build_parser

    text = cli_reference.cli_reference_markdown()
    commands = cli_reference.commands(build_parser())
    assert {words for words, _, _ in commands} >= {"prep splits", "prep nonpeaks", "prep bigwig", "bias train",
                                                    "train", "predict", "export", "quickstart", "demo-data"}
    for words, _, parser in commands:
        assert f"## `dream-keras {words}`" in text
        assert f"](#{cli_reference._anchor(words)})" in text
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in text or f", {flag}" in text, f"dream-keras {words} {flag} missing"


def test_escape_markdown_keeps_code_spans():
    assert cli_reference.escape_markdown("a *b* `x_*y` <c> |d|") == r"a \*b\* `x_*y` &lt;c&gt; \|d\|"


def test_every_public_name_is_documented():
    pytest.importorskip("griffe", reason="the docs extra is not installed (pip install -e .[docs])")
    assert api_coverage.api_problems(ROOT, DOCS) == []


def test_the_api_check_finds_undocumented_names(tmp_path):
    pytest.importorskip("griffe", reason="the docs extra is not installed (pip install -e .[docs])")
    package = tmp_path / "toy"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A toy package."""\n\nfrom toy.parts import documented, silent, unlisted\n\n'
        '__all__ = ["documented", "silent", "unlisted", "LIMIT"]\n\nLIMIT = 3\n')
    (package / "parts.py").write_text(
        '"""Parts."""\n\n\ndef documented():\n    """Has a docstring."""\n\n\ndef silent():\n    pass\n\n\n'
        'def unlisted():\n    """Documented, but on no page."""\n')
    api = tmp_path / "docs" / api_coverage.API_FOLDER
    api.mkdir(parents=True)
    (api / "toy.md").write_text("# toy\n\n::: toy.parts.documented\n\n::: toy.parts.silent\n\n::: toy.missing\n")
    problems = api_coverage.api_problems(tmp_path, tmp_path / "docs", public_modules=("toy",))
    assert any("toy.silent" in p and "no docstring" in p for p in problems)
    assert any("toy.LIMIT" in p and "no docstring" in p for p in problems)
    assert any("toy.unlisted" in p and "no API page" in p for p in problems)
    assert any("toy.missing" in p and "names nothing" in p for p in problems)
    assert not any("toy.documented" in p for p in problems)


def test_sphinx_roles_become_optional_cross_references(tmp_path):
    griffe = pytest.importorskip("griffe", reason="the docs extra is not installed (pip install -e .[docs])")
    sphinx_roles = _load("sphinx_roles", DOCS / "hooks" / "sphinx_roles.py")
    package = tmp_path / "toy"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""Toy."""\n\n\ndef helper():\n    """Help."""\n\n\ndef main():\n    """Main."""\n')
    module = griffe.load("toy", search_paths=[str(tmp_path)])
    text = sphinx_roles.rewrite_roles(
        "Calls :func:`helper`, returns :class:`~data_prep.outputs.OpenedOutput` (:mod:`os.path`).", module["main"])
    assert text == ('Calls <autoref identifier="toy.helper" optional><code>helper</code></autoref>, returns '
                    '<autoref identifier="data_prep.outputs.OpenedOutput" optional><code>OpenedOutput</code></autoref>'
                    ' (<autoref identifier="os.path" optional><code>os.path</code></autoref>).')


def test_navigation_and_pages_agree():
    nav = (ROOT / "mkdocs.yml").read_text().split("\nnav:", 1)[1]
    listed = {match["path"] for match in docs_examples._NAV_PAGE.finditer(nav)}
    pages = {page.relative_to(DOCS).as_posix() for page in DOCS.rglob("*.md") if "hooks" not in page.parts}
    assert listed - pages == set(), "pages named by the navigation but missing"
    assert pages - listed == set(), "pages missing from the navigation"
    # The pages other work fills in are where the navigation expects them.
    assert {"interpretation/contributions.md", "interpretation/motifs.md", "interpretation/variants.md",
            "tutorials/single-cell.md", "files-are-safe.md", "changelog.md"} <= listed
