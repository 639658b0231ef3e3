"""Run the documentation's examples on the bundled data and time each command (the site quotes these times).

The README and the pages of the documentation site mark their runnable examples with
``<!-- example: NAME -->`` followed by a ``sh`` or ``python`` code block. Every ``dream-keras ...`` command
of the ``sh`` blocks (backslash continuations joined, ``# comments`` dropped) and every ``python`` block
runs here, in the order of the site's navigation (the README first), in one fresh working folder, as a
user would run it: one process per command. Prints one row per command (block, exit status, seconds) and
the total, with the machine's CPU and load average; stops at the first failure. ``tests/test_docs.py`` runs
the same examples in-process.

    python benchmarks/docs_examples.py                 # run them all (a few minutes on 2 cores)
    python benchmarks/docs_examples.py --check         # only parse each command (no run)
    python benchmarks/docs_examples.py --keep DIR      # run in DIR and keep the outputs
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\s*```(?P<language>sh|python)\n(?P<body>.*?)```", re.S)
# A page of mkdocs.yml's navigation: "- Title: path.md" or "- path.md" (the nav holds only page paths).
_NAV_PAGE = re.compile(r"^\s*-\s+(?:[^:\n]+:\s+)?(?P<path>[\w./-]+\.md)\s*$", re.M)


@dataclasses.dataclass(frozen=True)
class Example:
    """One runnable example: a shell command line, or a whole Python block.

    Attributes:
        page: The Markdown file it comes from, relative to the repository root.
        block: The block's name (``<!-- example: NAME -->``).
        language: ``"sh"`` (``code`` is one ``dream-keras`` command line) or ``"python"`` (a whole block).
        code: The command line or the Python source.
    """

    page: str
    block: str
    language: str
    code: str


def marked_blocks(text: str) -> list[tuple[str, str, str]]:
    """The marked example blocks of one Markdown text, in order.

    Args:
        text: Markdown.

    Returns:
        ``[(name, language, body)]`` with ``language`` ``"sh"`` or ``"python"``.
    """
    return [(m["name"], m["language"], m["body"]) for m in _BLOCK.finditer(text)]


def shell_commands(body: str) -> list[str]:
    """The command lines of a ``sh`` block: continuations joined, comments and blank lines dropped.

    Args:
        body: The block's text.

    Returns:
        One whitespace-normalised line per command.
    """
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            commands.append(" ".join(line.split()))
    return commands


def documentation_pages(root: str | os.PathLike = ROOT) -> list[pathlib.Path]:
    """The README, then the site's pages in the order of ``mkdocs.yml``'s navigation.

    Args:
        root: The repository root.

    Returns:
        Paths of the Markdown files (pages named by the navigation but missing are left out: the strict
        site build reports them).
    """
    root = pathlib.Path(root)
    nav = (root / "mkdocs.yml").read_text().split("\nnav:", 1)[1]
    pages = [root / "docs" / match["path"] for match in _NAV_PAGE.finditer(nav)]
    return [root / "README.md"] + [page for page in pages if page.is_file()]


def documentation_examples(root: str | os.PathLike = ROOT) -> list[Example]:
    """Every runnable example of the README and the site, in the order they run.

    Args:
        root: The repository root.

    Returns:
        One :class:`Example` per shell command and per Python block.
    """
    root = pathlib.Path(root)
    examples = []
    for page in documentation_pages(root):
        relative = page.relative_to(root).as_posix()
        for name, language, body in marked_blocks(page.read_text()):
            if language == "python":
                examples.append(Example(relative, name, language, body))
            else:
                examples.extend(Example(relative, name, language, command) for command in shell_commands(body))
    return examples


def command_words(command: str) -> str:
    """The command a line runs, as the reference names it: ``"train"``, ``"prep splits"``, ``"bias train"``.

    Args:
        command: A ``dream-keras ...`` command line.

    Returns:
        The command's words after ``dream-keras``.
    """
    words = shlex.split(command)
    return " ".join(words[1:3]) if words[1] in ("prep", "bias") else words[1]


def _run(example: Example, work: pathlib.Path, executable: str):
    if example.language == "python":
        return subprocess.run([sys.executable, "-c", example.code], cwd=work, capture_output=True, text=True)
    return subprocess.run([executable, *shlex.split(example.code)[1:]], cwd=work, capture_output=True, text=True)


def main(argv=None) -> int:
    """Run (or with ``--check`` parse) every example; print the timing table."""
    from dream_keras.training.jit_choice import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="parse the commands, run nothing")
    parser.add_argument("--keep", metavar="DIR", help="run in DIR (created) and keep the outputs")
    args = parser.parse_args(argv)
    examples = documentation_examples()
    if args.check:
        from dream_keras.cli import build_parser

        cli = build_parser()
        for example in examples:
            if example.language == "sh":
                cli.parse_args(shlex.split(example.code)[1:])
            else:
                compile(example.code, f"{example.page}:{example.block}", "exec")
        print(f"{len(examples)} examples parse")
        return 0
    work = pathlib.Path(args.keep) if args.keep else pathlib.Path(tempfile.mkdtemp(prefix="docs_examples_"))
    work.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("dream-keras") or sys.exit("dream-keras is not on PATH: pip install -e . first")
    print(f"{cpu_model()}, {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}; in {work}")
    total = 0.0
    for example in examples:
        start = time.perf_counter()
        done = _run(example, work, executable)
        seconds = time.perf_counter() - start
        total += seconds
        shown = example.code if example.language == "sh" else f"(python block of {example.page})"
        print(f"{example.block:14s} rc={done.returncode}  {seconds:7.1f} s  {shown[:90]}", flush=True)
        if done.returncode:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
            return done.returncode
    print(f"total {total:.1f} s for {len(examples)} examples; load average after: {os.getloadavg()[0]:.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
