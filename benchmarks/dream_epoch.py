"""Benchmark: one epoch of the DREAM demo table through ``dream-keras train --task dream_yeast``, per DREAM model.

Runs the real command in a fresh process for each backbone (``--models``) and each ``--accumulate``
setting: the 6,370-row demo table (``tests/data/dream_yeast/demo_train.txt``) split into training
and validation rows, training rows doubled with their reverse complements, the ``dream`` recipe
(batch 1,024, one-cycle AdamW), ``--epochs 1``, then the validation and test evaluation. Everything
``dream-keras train`` does by default is included: seeding, ``--jit-compile auto`` (timed both ways
and cached on the first run of a configuration: set ``DREAM_KERAS_CACHE_DIR`` to choose where) and
the run folder. Prints per run: the wall time of the whole command, its peak resident memory (the
child's ``ru_maxrss``), the training rows of the epoch, and the command's ``--jit-compile`` line.
The 1-minute load average is printed with each row (the machine may be shared).

    python benchmarks/dream_epoch.py                                # dream_cnn and dream_rnn, batch 1,024
    python benchmarks/dream_epoch.py --models dream_cnn --accumulate 1,4   # 1,024 against 256 x 4
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

DEMO = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "dream_yeast" / "demo_train.txt"


def run_epoch(backbone: str, accumulate: int, data: pathlib.Path, out: pathlib.Path) -> dict:
    """One ``dream-keras train --task dream_yeast --epochs 1`` in a child process: wall time, peak RSS."""
    command = [sys.executable, "-m", "dream_keras.cli", "train", "--task", "dream_yeast", "--data", str(data),
               "--backbone", backbone, "--epochs", "1", "--out", str(out)]
    if accumulate > 1:
        command += ["--accumulate", str(accumulate)]
    log = out.with_suffix(".log")
    started = time.perf_counter()
    with open(log, "w") as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    text = log.read_text()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        # e.g. the memory preflight's refusal (rc 2): report it as the row and go on with the next run
        reason = next((line for line in reversed(text.splitlines()) if "error" in line.lower()), text[-300:])
        return {"backbone": backbone, "accumulate": accumulate, "wall_s": wall, "peak_rss_gb": usage.ru_maxrss / 1e6,
                "train_rows": None, "jit": "", "load": os.getloadavg()[0], "failed": f"rc {code}: {reason.strip()}"}
    jit_line = next((line for line in text.splitlines() if "--jit-compile auto" in line), "")
    metrics_files = list(out.rglob("metrics.json"))
    split = json.loads(metrics_files[0].read_text()).get("split", {}) if metrics_files else {}
    return {"backbone": backbone, "accumulate": accumulate, "wall_s": wall, "peak_rss_gb": usage.ru_maxrss / 1e6,
            "train_rows": split.get("n_train_rows"), "jit": jit_line.strip(), "load": os.getloadavg()[0]}


def main(argv=None) -> None:
    """Time one epoch of each model on the demo table and print the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="dream_cnn,dream_rnn")
    parser.add_argument("--accumulate", default="1", help="comma-separated --accumulate values (1: none)")
    parser.add_argument("--data", default=str(DEMO))
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPU cores; table {args.data}; load average (1 min) {os.getloadavg()[0]:.2f}", flush=True)
    print(f"{'model':10s} {'batch':>9s} {'wall s':>8s} {'peak RSS GB':>12s} {'train rows':>11s} {'load':>5s}")
    with tempfile.TemporaryDirectory(prefix="dream-epoch-") as tmp:
        for backbone in args.models.split(","):
            for accumulate in (int(value) for value in args.accumulate.split(",")):
                row = run_epoch(backbone, accumulate, pathlib.Path(args.data),
                                pathlib.Path(tmp) / f"{backbone}_acc{accumulate}")
                batch = "1024" if accumulate == 1 else f"{1024 // accumulate}x{accumulate}"
                print(f"{backbone:10s} {batch:>9s} {row['wall_s']:>8.1f} {row['peak_rss_gb']:>12.2f} "
                      f"{str(row['train_rows']):>11s} {row['load']:>5.1f}", flush=True)
                if row["jit"]:
                    print(f"    {row['jit']}", flush=True)
                if row.get("failed"):
                    print(f"    failed: {row['failed']}", flush=True)


if __name__ == "__main__":
    main()
