"""The README's runnable examples: every command in its marked example blocks parses with today's CLI."""

import importlib.util
import pathlib
import shlex

import pytest

from dream_keras.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_examples():
    spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "benchmarks" / "readme_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.readme_examples((ROOT / "README.md").read_text())


EXAMPLES = _readme_examples()


def test_readme_has_an_example_for_every_command():
    commands = {" ".join(shlex.split(line)[1:3]) if shlex.split(line)[1] in ("prep", "bias")
                else shlex.split(line)[1] for _, line in EXAMPLES}
    parser = build_parser()
    subcommands = set(parser._subparsers._group_actions[0].choices)  # argparse keeps its choices here
    expected = (subcommands - {"prep", "bias", "quickstart"}) | {"prep splits", "prep nonpeaks", "bias train"}
    # The quickstart is the README's first command, outside the example blocks.
    first_block = (ROOT / "README.md").read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    assert first_block.strip().endswith("dream-keras quickstart")
    assert expected - commands == set(), f"README has no runnable example of {sorted(expected - commands)}"


@pytest.mark.parametrize("block,command", EXAMPLES, ids=[f"{b}-{i}" for i, (b, _) in enumerate(EXAMPLES)])
def test_readme_example_parses(block, command):
    words = shlex.split(command)
    assert words[0] == "dream-keras"
    args = build_parser().parse_args(words[1:])
    assert callable(args.func)
