"""Measure the durations the README quotes, as a first run on a fresh machine meets them.

The README's two commands are run as written, in a fresh copy of this checkout (its tracked files, as
``git clone`` gives them) with a fresh virtual environment, and every step is timed on its own:

    1. python3 -m venv .venv && . .venv/bin/activate && pip install -q --upgrade pip
       && pip install -q -e ".[plots]" && dream-keras quickstart
    2. python3 -m venv .venv && . .venv/bin/activate && pip install -q --upgrade pip
       && pip install -q -e ".[test]" && python -m pytest -q
       (the same ``.venv``: on a machine that ran the first command, the second adds the test extra)

A first run is timed as a new user meets it: pip's download cache is empty (every wheel is
downloaded; ``--keep-pip-cache`` uses this machine's), the quickstart's XLA-choice cache is empty
(``DREAM_KERAS_CACHE_DIR``: it times the model with and without XLA before training, as a first run
does) and so is matplotlib's font cache. The quick subset of the tests (``-m "not slow"``) is timed
too. The CPU, the core count and the load average before and after are printed with every figure
(a loaded machine takes longer: say so when quoting a figure).

    python benchmarks/readme_times.py            # the README's figures (about 20 minutes idle on 2 cores)
    python benchmarks/readme_times.py --quick    # the same chain at a glance: pip cache kept, 1-epoch
                                                 # quickstart, one test file (not the README's figures)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: the test file the --quick run times instead of the suite
QUICK_TESTS = "tests/test_cli_startup.py"


def cpu_model() -> str:
    """The CPU's model string (``/proc/cpuinfo``), else what ``platform`` says."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def load_average() -> float:
    """The 1-minute load average (NaN where the system has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


@dataclasses.dataclass
class Step:
    """One timed command: ``name`` in the printout, ``command``, and the folder it runs in."""

    name: str
    command: list[str]
    cwd: pathlib.Path


def fresh_checkout(destination: pathlib.Path) -> pathlib.Path:
    """Copy the files of the checkout to ``destination``, as a clone of them would hold them.

    The files copied are the tracked ones and the new ones git does not ignore.
    """
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def fresh_environment(work: pathlib.Path, keep_pip_cache: bool) -> dict:
    """The variables of a new user's shell: this interpreter's own settings removed, every cache empty."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "TF_CPP_MIN_LOG_LEVEL", "DREAM_KERAS_CACHE_DIR")}
    venv_bin = work / "dream-keras" / ".venv" / "bin"
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv_bin.parent)
    caches = work / "caches"
    env["XDG_CACHE_HOME"] = str(caches)
    env["DREAM_KERAS_CACHE_DIR"] = str(caches / "dream-keras")
    env["MPLCONFIGDIR"] = str(caches / "matplotlib")
    if not keep_pip_cache:
        env["PIP_CACHE_DIR"] = str(caches / "pip")
    return env


def readme_steps(checkout: pathlib.Path, quick: bool) -> list[Step]:
    """The README's two commands, split into timed steps (``quick``: the short forms of the long ones)."""
    venv = checkout / ".venv"
    python, pip = str(venv / "bin" / "python"), str(venv / "bin" / "pip")
    quickstart = [str(venv / "bin" / "dream-keras"), "quickstart"] + (["--epochs", "1", "--bias-epochs", "1"]
                                                                       if quick else [])
    pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    steps = [Step("create .venv", [sys.executable, "-m", "venv", str(venv)], checkout),
             Step("pip upgrade", [pip, "install", "-q", "--upgrade", "pip"], checkout),
             Step("install .[plots]", [pip, "install", "-q", "-e", ".[plots]"], checkout),
             Step("first quickstart", quickstart, checkout),
             Step("install .[test]", [pip, "install", "-q", "-e", ".[test]"], checkout)]
    if quick:
        return steps + [Step(f"tests ({QUICK_TESTS})", pytest + [QUICK_TESTS], checkout)]
    return steps + [Step("tests (not slow)", pytest + ["-m", "not slow"], checkout),
                    Step("tests (all)", pytest, checkout)]


def run_step(step: Step, env: dict, log: pathlib.Path) -> tuple[int, float, float, float]:
    """Run ``step`` with its output in ``log``; returns ``(exit status, seconds, load before, load after)``."""
    before = load_average()
    started = time.perf_counter()
    with open(log, "w") as output:
        done = subprocess.run(step.command, cwd=step.cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    return done.returncode, time.perf_counter() - started, before, load_average()


def last_line(log: pathlib.Path) -> str:
    """The last non-empty line of a step's output."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:110] if lines else ""


def main(argv=None) -> int:
    """Run and time the steps; print one line per step and the README's figures; 0 when all succeeded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="pip cache kept, 1-epoch quickstart, one test file: checks the chain, not the figures")
    parser.add_argument("--keep-pip-cache", action="store_true",
                        help="use this machine's pip cache (a fresh machine downloads every wheel)")
    parser.add_argument("--keep", action="store_true", help="keep the fresh checkout and its logs afterwards")
    args = parser.parse_args(argv)
    work = pathlib.Path(tempfile.mkdtemp(prefix="readme_times_"))
    checkout = fresh_checkout(work / "dream-keras")
    env = fresh_environment(work, keep_pip_cache=args.keep_pip_cache or args.quick)
    logs = work / "logs"
    logs.mkdir()
    print(f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; fresh checkout {checkout}"
          f"{' (quick: not the README figures)' if args.quick else ''}", flush=True)
    seconds, status = {}, 0
    for number, step in enumerate(readme_steps(checkout, args.quick), start=1):
        log = logs / f"{number}.log"
        status, took, before, after = run_step(step, env, log)
        seconds[step.name] = took
        print(f"{step.name:28s} rc={status} {took:8.1f} s ({took / 60:5.1f} min); load average {before:.2f} before, "
              f"{after:.2f} after; last line: {last_line(log)}", flush=True)
        if step.name == "first quickstart":
            decisions = [line for line in log.read_text(errors="replace").splitlines()
                         if line.startswith("--jit-compile auto:")]
            measured = sum("measured now" in line for line in decisions)
            print(f"{'':28s} XLA timed in this run for {measured} of its {len(decisions)} trainings", flush=True)
        if status:
            print(f"stopped: '{' '.join(step.command)}' failed; its output is in {log}", flush=True)
            args.keep = True
            break
    else:
        first = sum(seconds[name] for name in ("create .venv", "pip upgrade", "install .[plots]", "first quickstart"))
        print(f"README command 1 (fresh .venv, install, first quickstart): {first / 60:.1f} min, of which the "
              f"install {(first - seconds['first quickstart']) / 60:.1f} min and the quickstart "
              f"{seconds['first quickstart'] / 60:.1f} min", flush=True)
        tests = [name for name in seconds if name.startswith("tests")]
        print("README command 2 (test extra, then the tests): install "
              f"{seconds['install .[test]'] / 60:.1f} min; " +
              "; ".join(f"{name} {seconds[name] / 60:.1f} min" for name in tests), flush=True)
    if args.keep:
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
