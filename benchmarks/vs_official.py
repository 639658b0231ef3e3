"""Benchmark: dream-keras against the official ChromBPNet code, the same BPNet tower side by side.

Times training steps (forward, backward, Adam update) and prediction of BPNet at 2,114 -> 1,000 bp,
float32, on one fixed random batch (``--batch-size``, 16 as the official trainer), in separate
processes that alternate on the same machine, ``--rounds`` rounds:

- **official**: the PyPI ``chrombpnet`` package's own model-building function
  (``chrombpnet.training.models.bpnet_model.getModelGivenModelOptionsAndWeightInits``: its layers, its
  multinomial NLL + weighted MSE, its Adam), run in the official virtual environment
  (``benchmarks/setup_official.sh``) under ``TF_USE_LEGACY_KERAS=1``;
- **dream-keras**: ``build_model("bpnet", "profile_count")`` compiled as ``dream-keras train`` compiles
  it by default: ``seed_everything`` (which switches TensorFlow's op determinism on),
  ChromBPNet's loss and Adam, and ``--jit-compile auto`` (timed both ways on this machine and model
  and cached; the timing happens at compile, outside the timed steps);
- with ``--determinism-cost``, also dream-keras seeded *without* op determinism (else the same), to
  measure what determinism costs.

Towers: the ChromBPNet model (512 filters, 8 dilated layers) and the bias model (128 / 4). Each
process does one untimed step first (tracing, XLA compilation), then ``--steps`` timed steps, then
the same for ``predict_on_batch``. Prints examples/s per process and round, and the ratios
dream-keras / official; the 1-minute load average is printed with every row (the machine may be
shared).

    bash benchmarks/setup_official.sh            # once: the official code in ./.official-venv
    python benchmarks/vs_official.py
    python benchmarks/vs_official.py --towers 512/8 --steps 2 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from official_environment import DEFAULT_OFFICIAL_VENV, official_python

INPUT_LENGTH, OUTPUT_LENGTH = 2114, 1000
COUNTS_LOSS_WEIGHT = 10.0
LEARNING_RATE = 1e-3
SEED = 1234


def _batch(batch_size: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(batch_size, INPUT_LENGTH))]
    profile = rng.poisson(0.05, size=(batch_size, OUTPUT_LENGTH)).astype(np.float32)
    return x, profile, np.log1p(profile.sum(axis=1, keepdims=True))


def _rate(function, batch_size: int, steps: int) -> float:
    function()  # untimed: traces (and compiles) the step
    started = time.perf_counter()
    for _ in range(steps):
        function()
    return batch_size * steps / (time.perf_counter() - started)


def official_model(filters: int, n_dil_layers: int):
    """The official code's BPNet, compiled by its own function (run under TF_USE_LEGACY_KERAS=1)."""
    from chrombpnet.training.models.bpnet_model import getModelGivenModelOptionsAndWeightInits

    args = argparse.Namespace(seed=SEED, learning_rate=LEARNING_RATE)
    params = {"filters": filters, "n_dil_layers": n_dil_layers, "counts_loss_weight": COUNTS_LOSS_WEIGHT,
              "inputlen": INPUT_LENGTH, "outputlen": OUTPUT_LENGTH}
    return getModelGivenModelOptionsAndWeightInits(args, params)


def ours_model(filters: int, n_dil_layers: int, batch_size: int, determinism: bool):
    """dream-keras's BPNet compiled as ``dream-keras train`` does by default; returns ``(model, uses_xla)``."""
    import keras

    from dream_keras import build_model
    from dream_keras.tasks.atac.profile_count_fit import compile_profile_count
    from dream_keras.training.performance import resolve_jit_compile
    from dream_keras.training.seeding import seed_everything

    if determinism:
        seed_everything(SEED)
    else:
        keras.utils.set_random_seed(SEED)
    model = build_model("bpnet", "profile_count", input_length=INPUT_LENGTH, output_length=OUTPUT_LENGTH,
                        filters=filters, n_dil_layers=n_dil_layers)
    # the trainer `dream-keras train` fits (it wraps the network; its loss is the same objective)
    trainer = compile_profile_count(model, counts_loss_weight=COUNTS_LOSS_WEIGHT, learning_rate=LEARNING_RATE,
                                    jit_compile=resolve_jit_compile("auto", "bpnet"), step_batch_size=batch_size,
                                    backbone="bpnet")
    return trainer, bool(trainer.jit_compile)


def worker(which: str, filters: int, n_dil_layers: int, batch_size: int, steps: int) -> dict:
    """One process's measurement: training and prediction examples/s."""
    x, profile, logcounts = _batch(batch_size)
    if which == "official":
        model, xla = official_model(filters, n_dil_layers), False
        y = [profile, logcounts]
    else:
        model, xla = ours_model(filters, n_dil_layers, batch_size, determinism=which == "ours")
        y = {"profile": profile, "logcounts": logcounts}
    train = _rate(lambda: model.train_on_batch(x, y), batch_size, steps)
    predict = _rate(lambda: model.predict_on_batch(x), batch_size, steps)
    return {"which": which, "train": train, "predict": predict, "xla": xla, "load": os.getloadavg()[0]}


def _run_worker(which: str, tower: str, args) -> dict:
    filters, layers = (int(value) for value in tower.split("/"))
    python = str(official_python(args.official_venv)) if which == "official" else sys.executable
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if which == "official":
        env["TF_USE_LEGACY_KERAS"] = "1"
        env.pop("PYTHONPATH", None)  # the official venv must not see this project's packages
    command = [python, os.path.abspath(__file__), "--worker", which, "--tower", tower,
               "--batch-size", str(args.batch_size), "--steps", str(args.steps)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"{which} {tower} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def main(argv=None) -> None:
    """Time the official and our BPNet towers in alternating processes and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official-venv", "--official-python", dest="official_venv",
                        help="the virtual environment holding the official chrombpnet (its folder or its "
                             f"bin/python; default {DEFAULT_OFFICIAL_VENV}, where benchmarks/setup_official.sh "
                             "puts it)")
    parser.add_argument("--towers", default="512/8,128/4", help="filters/dilated layers, comma-separated")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement (after 1 untimed)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--determinism-cost", action="store_true",
                        help="also time dream-keras without op determinism")
    parser.add_argument("--worker", choices=("official", "ours", "ours_nondeterministic"), help=argparse.SUPPRESS)
    parser.add_argument("--tower", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        filters, layers = (int(value) for value in args.tower.split("/"))
        print(json.dumps(worker(args.worker, filters, layers, args.batch_size, args.steps)), flush=True)
        return
    official_python(args.official_venv)  # stops here, saying how to make it, when it is missing
    kinds = ["official", "ours"] + (["ours_nondeterministic"] if args.determinism_cost else [])
    print(f"BPNet {INPUT_LENGTH} -> {OUTPUT_LENGTH} bp, float32, batch {args.batch_size}, {args.steps} timed steps; "
          f"{os.cpu_count()} CPU cores; load average (1 min) {os.getloadavg()[0]:.2f}", flush=True)
    print(f"{'tower':6s} {'round':>5s} {'code':22s} {'XLA':>4s} {'train ex/s':>11s} {'predict ex/s':>13s} {'load':>5s}")
    results = {}
    for round_number in range(1, args.rounds + 1):
        for tower in args.towers.split(","):
            order = kinds if round_number % 2 else kinds[::-1]  # alternate who goes first
            for which in order:
                row = _run_worker(which, tower, args)
                results.setdefault((tower, which), []).append(row)
                print(f"{tower:6s} {round_number:>5d} {which:22s} {'on' if row['xla'] else 'off':>4s} "
                      f"{row['train']:>11.3f} {row['predict']:>13.3f} {row['load']:>5.1f}", flush=True)
    for tower in args.towers.split(","):
        official = results[(tower, "official")]
        for which in kinds[1:]:
            ours = results[(tower, which)]
            train = [o["train"] / b["train"] for o, b in zip(ours, official)]
            predict = [o["predict"] / b["predict"] for o, b in zip(ours, official)]
            print(f"{tower} {which} / official, per round: training "
                  f"{', '.join(f'{r:.2f}x' for r in train)}; prediction {', '.join(f'{r:.2f}x' for r in predict)}")
        if args.determinism_cost:
            det, free = results[(tower, "ours")], results[(tower, "ours_nondeterministic")]
            shares = ", ".join(f"{d['train'] / f['train']:.2f}x" for d, f in zip(det, free))
            print(f"{tower} with op determinism dream-keras trains at {shares} of its rate without it")


if __name__ == "__main__":
    main()
