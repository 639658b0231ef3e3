"""Benchmark: the memory one training step really takes, against ``memory_check``'s estimate.

``dream_keras.training.memory_check`` refuses, before the first step, a training step estimated not
to fit (``ACTIVATION_FACTOR`` x the layer outputs x the batch). This script measures what a step
takes, per example, for each model and shape: two processes train two steps of the same model at two
batch sizes (``--batches``, 32 and 128, at the yeast shape; ``--atac-batches``, 8 and 32, at the
ATAC shape), and the growth of the peak resident memory (``ru_maxrss``) from one to the other,
divided by the difference in batch size, is the memory one example adds to a step (what does not
grow with the batch: the process, the model, traced functions, cancels out). Printed with it: the
layer outputs per example as ``memory_check`` counts them, their ratio (the factor the estimate
stands for) and the estimate per example.

Rows (``--rows``): ``bpnet`` (512/8), ``dream_cnn`` and ``dream_rnn`` at the ATAC shape (2,114 -> 1,000 bp,
``profile_count``), ``dream_cnn`` and ``dream_rnn`` at the DREAM yeast shape (150 bp x 6,
``soft_bins``), each without XLA and with ``--xla`` also with it (a row whose step runs out of
memory prints the error).

    python benchmarks/step_memory.py
    python benchmarks/step_memory.py --rows yeast:dream_cnn --batches 32,128 --xla
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

ROWS = ("atac:bpnet", "atac:dream_cnn", "atac:dream_rnn", "yeast:dream_cnn", "yeast:dream_rnn")
HERE = os.path.dirname(os.path.abspath(__file__))


def child(row: str, batch: int, xla: bool) -> dict:
    """Two training steps of ``row``'s model at ``batch``; the process's peak resident bytes after them."""
    sys.path.insert(0, HERE)
    import train_step

    from dream_keras.training.memory_check import activation_bytes_per_example, step_bytes_per_example
    from dream_keras.training.performance import apply_jit_compile

    shape, name = row.split(":")
    if shape == "yeast":
        model, _ = train_step.build_yeast(name, batch, "off")
        x, y = train_step._yeast_batch(batch)
    else:
        model = train_step.build(name, False)
        x, y = train_step._batch(batch)
    apply_jit_compile(model, xla)
    for _ in range(2):
        model.train_on_batch(x, y)
    return {"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "outputs": activation_bytes_per_example(model), "estimate": step_bytes_per_example(model)}


def measure(row: str, batches: tuple[int, int], xla: bool) -> dict:
    """Peak memory of one training step at two batch sizes (child processes); returns the per-example growth."""
    peaks = []
    for batch in batches:
        command = [sys.executable, os.path.abspath(__file__), "--child", row, str(batch), "on" if xla else "off"]
        done = subprocess.run(command, capture_output=True, text=True,
                              env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            error = [line for line in done.stderr.splitlines() if "Error" in line or "error" in line]
            return {"error": (error[-1] if error else f"exit {done.returncode}")[:160]}
        peaks.append(json.loads(lines[-1]))
    small, large = peaks
    per_example = (large["peak"] - small["peak"]) / (batches[1] - batches[0])
    return {"per_example": per_example, "outputs": large["outputs"], "estimate": large["estimate"],
            "peak_small": small["peak"], "peak_large": large["peak"]}


def main(argv=None) -> None:
    """Measure every row and print the step memory against the layer-output estimate."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--batches", default="32,128", help="the two batch sizes at the yeast shape")
    parser.add_argument("--atac-batches", default="8,32", help="the two batch sizes at the ATAC shape")
    parser.add_argument("--xla", action="store_true", help="also measure each row with XLA")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        row, batch, xla = args.child
        print(json.dumps(child(row, int(batch), xla == "on")), flush=True)
        return
    rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    batches = {shape: tuple(int(value) for value in text.split(","))
               for shape, text in (("yeast", args.batches), ("atac", args.atac_batches))}
    mb = 1e6
    print(f"load average (1 min) {os.getloadavg()[0]:.2f}; batches {batches}; MB = 10^6 bytes")
    print(f"{'row':18s} {'XLA':>4s} {'peak small':>11s} {'peak large':>11s} {'step MB/ex':>11s} "
          f"{'outputs MB/ex':>14s} {'ratio':>6s} {'estimate MB/ex':>15s}", flush=True)
    for row in rows:
        for xla in ((False, True) if args.xla else (False,)):
            result = measure(row, batches[row.split(":")[0]], xla)
            if "error" in result:
                print(f"{row:18s} {'on' if xla else 'off':>4s} failed: {result['error']}", flush=True)
                continue
            print(f"{row:18s} {'on' if xla else 'off':>4s} {result['peak_small'] / 1e9:>9.2f}GB "
                  f"{result['peak_large'] / 1e9:>9.2f}GB {result['per_example'] / mb:>11.1f} "
                  f"{result['outputs'] / mb:>14.1f} {result['per_example'] / result['outputs']:>6.2f} "
                  f"{result['estimate'] / mb:>15.1f}", flush=True)


if __name__ == "__main__":
    main()
