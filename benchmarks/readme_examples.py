"""Run the README's examples on the bundled data and time each command (the README quotes these times).

The README marks its runnable examples with ``<!-- example: NAME -->`` followed by a ``sh`` code block;
every ``dream-keras ...`` command in those blocks (backslash continuations joined) runs here, in order,
in one fresh working folder, exactly as a user would type it. Prints one row per command (block, exit
status, seconds) and the total, with the machine's CPU and load average; stops at the first failure.

    python benchmarks/readme_examples.py                 # run them all (a few minutes on 2 cores)
    python benchmarks/readme_examples.py --check         # only parse each command (no run)
    python benchmarks/readme_examples.py --keep DIR      # run in DIR and keep the outputs
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from dream_keras.training.jit_choice import cpu_model

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\s*```sh\n(?P<body>.*?)```", re.S)


def readme_examples(text: str) -> list[tuple[str, str]]:
    """``[(block name, command line)]`` of every command in the README's marked example blocks."""
    commands = []
    for match in _BLOCK.finditer(text):
        joined = match["body"].replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line:
                commands.append((match["name"], " ".join(line.split())))
    return commands



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="parse the commands, run nothing")
    parser.add_argument("--keep", metavar="DIR", help="run in DIR (created) and keep the outputs")
    args = parser.parse_args(argv)
    commands = readme_examples(README.read_text())
    if args.check:
        from dream_keras.cli import build_parser

        cli = build_parser()
        for name, command in commands:
            cli.parse_args(shlex.split(command)[1:])
        print(f"{len(commands)} example commands parse")
        return 0
    work = pathlib.Path(args.keep) if args.keep else pathlib.Path(tempfile.mkdtemp(prefix="readme_examples_"))
    work.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("dream-keras") or sys.exit("dream-keras is not on PATH: pip install -e . first")
    print(f"{cpu_model()}, {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}; in {work}")
    total = 0.0
    for name, command in commands:
        start = time.perf_counter()
        done = subprocess.run([executable, *shlex.split(command)[1:]], cwd=work, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        total += seconds
        print(f"{name:14s} rc={done.returncode}  {seconds:7.1f} s  {command[:90]}", flush=True)
        if done.returncode:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
            return done.returncode
    print(f"total {total:.1f} s for {len(commands)} commands; load average after: {os.getloadavg()[0]:.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
