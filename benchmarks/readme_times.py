"""Measure the durations the README quotes: the quickstart, the whole test suite and its quick subset.

Each is run as the README's commands run it, on this machine, and timed; the CPU, core count and the
load average before and after are printed with every figure (a loaded machine takes longer: quote
both conditions when they differ).

    python benchmarks/readme_times.py                  # quickstart, quick subset, whole suite
    python benchmarks/readme_times.py --only quickstart
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from dream_keras.training.jit_choice import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: name -> (command, working folder: "tmp" for a fresh temporary folder, "root" for the checkout)
JOBS = {
    "quickstart": (["dream-keras", "quickstart", "--out", "quickstart_out"], "tmp"),
    "quickstart --synthetic": (["dream-keras", "quickstart", "--synthetic", "--out", "synthetic_out"], "tmp"),
    "tests (not slow)": ([sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"], "root"),
    "tests (all)": ([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], "root"),
}
DEFAULT = ("quickstart", "tests (not slow)", "tests (all)")



def main(argv=None) -> int:
    """Run and time each job; print one row per job with the load average."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(JOBS), help=f"jobs to run (default: {', '.join(DEFAULT)})")
    args = parser.parse_args(argv)
    print(f"{cpu_model()}, {os.cpu_count()} cores", flush=True)
    status = 0
    for name in args.only or DEFAULT:
        command, where = JOBS[name]
        folder = pathlib.Path(tempfile.mkdtemp(prefix="readme_times_")) if where == "tmp" else ROOT
        before = os.getloadavg()[0]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        last = (done.stdout.strip().splitlines() or [""])[-1]
        print(f"{name:24s} rc={done.returncode} {seconds:8.1f} s ({seconds / 60:.1f} min); load average "
              f"{before:.2f} before, {os.getloadavg()[0]:.2f} after; last line: {last[:100]}", flush=True)
        status = status or done.returncode
        if where == "tmp":
            shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
