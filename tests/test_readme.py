"""The README and the documentation's runnable examples: every command has one, and each parses with today's CLI."""

import importlib.util
import pathlib
import re
import shlex
import sys

import pytest

from dream_keras.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _docs_examples_module():
    if "docs_examples" in sys.modules:
        return sys.modules["docs_examples"]
    spec = importlib.util.spec_from_file_location("docs_examples", ROOT / "benchmarks" / "docs_examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_examples"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


DOCS_EXAMPLES = _docs_examples_module()
EXAMPLES = DOCS_EXAMPLES.documentation_examples(ROOT)
COMMANDS = [example for example in EXAMPLES if example.language == "sh"]


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```bash\n")
    first_block, second_block = blocks[1].split("```", 1)[0], blocks[2].split("```", 1)[0]
    assert first_block.strip().endswith("dream-keras quickstart")
    assert second_block.strip().endswith("python -m pytest -q")
    # The README links into the site rather than holding it: it stays within its first screens.
    assert len(text.splitlines()) < 120
    for target in ("docs/getting-started.md", "docs/reference/cli.md", "docs/reference/api/index.md"):
        assert f"]({target}" in text and (ROOT / target).is_file()
    assert 'pip install -e ".[docs]" && mkdocs serve' in text


def test_every_command_has_a_runnable_example():
    commands = {DOCS_EXAMPLES.command_words(example.code) for example in COMMANDS}
    parser = build_parser()
    subcommands = set(parser._subparsers._group_actions[0].choices)  # argparse keeps its choices here
    expected = (subcommands - {"prep", "bias", "quickstart"}) | {"prep splits", "prep nonpeaks", "prep bigwig",
                                                                 "bias train"}
    # The quickstart is the README's first command, outside the example blocks.
    assert expected - commands == set(), f"no runnable example of {sorted(expected - commands)} in README or docs"


def test_examples_come_in_navigation_order():
    pages = [page.relative_to(ROOT).as_posix() for page in DOCS_EXAMPLES.documentation_pages(ROOT)]
    assert pages[0] == "README.md" and "docs/tutorials/reads-to-model.md" in pages
    blocks = [example.block for example in EXAMPLES]
    # The data are copied before anything reads them; the models are trained before they are interpreted.
    assert blocks[0] == "data"
    assert blocks.index("train") < blocks.index("evaluate") < blocks.index("interpret") < blocks.index("import-export")
    assert blocks.index("tables") < blocks.index("interpret")
    assert any(example.language == "python" for example in EXAMPLES)


def _all_command_lines():
    """Every ``dream-keras`` line of every ``sh`` block of the README and the site, marked or not."""
    lines = []
    for page in DOCS_EXAMPLES.documentation_pages(ROOT):
        for body in re.findall(r"```(?:sh|bash)\n(.*?)```", page.read_text(), flags=re.S):
            for line in DOCS_EXAMPLES.shell_commands(body):
                line = line.split("&& ")[-1]  # the README's install-then-run lines
                if line.startswith("dream-keras ") and "..." not in line:  # "..." marks an elided example
                    lines.append((page.relative_to(ROOT).as_posix(), line))
    return lines


@pytest.mark.parametrize("page,line", _all_command_lines())
def test_every_documented_command_line_parses(page, line):
    words = shlex.split(line)
    # the shell's redirections and pipes (`> train.log 2>&1`, `| tee log`) end the command's own words
    shell = [i for i, word in enumerate(words) if word in ("|", "&&", ";") or word.lstrip("012&").startswith(">")]
    args = build_parser().parse_args(words[1:shell[0] if shell else None])
    assert callable(args.func), f"{page}: {line}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.block}-{i}" for i, e in enumerate(EXAMPLES)])
def test_example_parses(example):
    if example.language == "python":
        compile(example.code, f"{example.page}:{example.block}", "exec")
        return
    words = shlex.split(example.code)
    assert words[0] == "dream-keras"
    args = build_parser().parse_args(words[1:])
    assert callable(args.func)
