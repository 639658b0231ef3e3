"""The README's and the documentation pages' runnable examples: every command in their marked example
blocks parses with today's CLI, and every command has one."""

import importlib.util
import pathlib
import shlex

import pytest

from dream_keras.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_examples():
    """The marked example blocks of the README and of the documentation pages (docs/**/*.md, which
    take over from the README), in that order."""
    spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "benchmarks" / "readme_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [example for page in pages for example in module.readme_examples(page.read_text())]


EXAMPLES = _readme_examples()


def test_readme_has_an_example_for_every_command():
    commands = {" ".join(shlex.split(line)[1:3]) if shlex.split(line)[1] in ("prep", "bias")
                else shlex.split(line)[1] for _, line in EXAMPLES}
    parser = build_parser()
    subcommands = set(parser._subparsers._group_actions[0].choices)  # argparse keeps its choices here
    expected = (subcommands - {"prep", "bias", "quickstart"}) | {"prep splits", "prep nonpeaks", "prep bigwig", "bias train"}
    # The quickstart is the README's first command, outside the example blocks.
    first_block = (ROOT / "README.md").read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    assert first_block.strip().endswith("dream-keras quickstart")
    assert expected - commands == set(), f"README and docs/ have no runnable example of {sorted(expected - commands)}"


@pytest.mark.parametrize("block,command", EXAMPLES, ids=[f"{b}-{i}" for i, (b, _) in enumerate(EXAMPLES)])
def test_readme_example_parses(block, command):
    words = shlex.split(command)
    assert words[0] == "dream-keras"
    args = build_parser().parse_args(words[1:])
    assert callable(args.func)


@pytest.mark.slow  # trains a small model for two epochs in a second interpreter
def test_readme_python_example_runs(tmp_path):
    import subprocess
    import sys

    text = (ROOT / "README.md").read_text()
    code = text.split("<!-- python-example -->", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(code + "\nprint('shapes', predicted['profile'].shape, predicted['logcounts'].shape, scores.shape)\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shapes (" in done.stdout
    shapes = done.stdout.split("shapes ", 1)[1].splitlines()[0]
    profile_shape, logcounts_shape, scores_shape = eval(shapes.replace(") (", "), ("))  # noqa: S307 (own output)
    assert profile_shape[1:] == (1000,) and logcounts_shape[1:] == (1,) and scores_shape == (4, 2114, 4)
    assert (tmp_path / "dream_cnn_atac.keras").stat().st_size > 0
    assert (tmp_path / "serving" / "atac_dream_cnn" / "1" / "saved_model.pb").is_file()
