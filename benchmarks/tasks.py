"""Benchmark: the paper's sequence-table comparisons on the bundled real samples, with each recipe.

Rows:

- STARR-seq (Drosophila, DeepSTARR table): DREAM-RNN + ``regression`` and DREAM-CNN + ``regression``
  with the DREAM recipe, and DeepSTARR with its own recipe, trained on ``sample_train.txt`` and scored
  on ``sample_val.txt`` (Pearson r and Spearman rho of Dev and Hk, reverse-complement averaged).
- DREAM yeast: DREAM-RNN + ``soft_bins`` with the DREAM recipe, trained on 90 % of the demo data
  (reverse-complement doubled) and scored on the held-out 10 %.

Full-size models (published widths) are slow on a CPU (DREAM-CNN's grouped convolutions above all),
so the epochs and the training and scoring rows can be cut, and any model can be given other widths;
every row says what it used. The samples are small (1,000 STARR-seq rows), so these are smoke-scale
numbers, not the paper's.

    python benchmarks/tasks.py                                   # 5 epochs, every row, full-size models
    python benchmarks/tasks.py --epochs 3 --max-train 512 --max-valid 500 --batch-size 64 \
        --model-option dream_cnn:first_filters=64 --model-option 'dream_cnn:core_channels=[32,32,16,16,16,16]'
    python benchmarks/tasks.py --only starrseq --models deepstarr
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

STARR_MODELS = {"dream_rnn": ("dream_rnn", "regression"), "dream_cnn": ("dream_cnn", "regression"),
                "deepstarr": ("deepstarr", "deepstarr")}


def _write_rows(path: pathlib.Path, lines: list[str]) -> pathlib.Path:
    path.write_text("".join(lines))
    return path


def first_rows(workdir: pathlib.Path, table: pathlib.Path, n: int | None) -> pathlib.Path:
    """The first ``n`` rows of a table with a header line (the table itself for None)."""
    if n is None:
        return table
    lines = table.read_text().splitlines(keepends=True)
    return _write_rows(workdir / f"first_{n}_{table.name}", lines[:1 + n])


def yeast_tables(workdir: pathlib.Path, data: pathlib.Path, max_train: int | None, seed: int,
                 max_valid: int | None = None):
    """A random 10 % of the yeast demo rows held out (at most ``max_valid`` of them scored).

    At most ``max_train`` of the rest for training.
    """
    import numpy as np

    lines = data.read_text().splitlines(keepends=True)
    order = np.random.default_rng(seed).permutation(len(lines))
    n_valid = len(lines) // 10
    train_rows = order[n_valid:] if max_train is None else order[n_valid:n_valid + max_train]
    valid = _write_rows(workdir / "yeast_valid.txt", [lines[i] for i in sorted(order[:n_valid][:max_valid])])
    train = _write_rows(workdir / "yeast_train.txt", [lines[i] for i in sorted(train_rows)])
    return train, valid


def model_options(specs: list[str]) -> dict:
    """``["dream_cnn:first_filters=64", ...]`` -> ``{"dream_cnn": {"first_filters": 64}}`` (values as JSON)."""
    options: dict = {}
    for spec in specs:
        model, _, assignment = spec.partition(":")
        key, _, text = assignment.partition("=")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        options.setdefault(model, {})[key] = value
    return options


def run_one(task, model_name, backbone, head, train, valid, out, args) -> dict:
    """Train one model on one task and return its scores and time."""
    from dream_keras.tasks.tables.train import train_table_task

    options = args.options.get(model_name, {})
    started = time.perf_counter()
    run = train_table_task(task, train, valid=valid, out=out, backbone=backbone, head=head, epochs=args.epochs,
                           batch_size=args.batch_size, seed=args.seed, verbose=args.verbose, overwrite=True,
                           model_options=options)
    seconds = time.perf_counter() - started
    scores = run.metrics["sets"]["valid"]
    row = {"model": model_name, "task": task, "recipe": run.parameters["recipe"],
           "batch": run.parameters["batch_size"], "n_train": run.parameters["split"]["n_train_rows"],
           "n_valid": scores["n"], "epochs": len(run.fit.history), "best_epoch": run.fit.best_epoch + 1,
           "params": run.model.count_params(), "options": json.dumps(options) if options else "published",
           "seconds": round(seconds, 1)}
    for name, values in scores["tasks"].items():
        row[f"{name}_pearson"] = round(values["pearson_r"], 4)
        row[f"{name}_spearman"] = round(values["spearman_r"], 4)
    return row


def main(argv=None) -> int:
    """Train every model on every task and print the score table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per model (default 5; recipes: 80/100)")
    parser.add_argument("--max-train", type=int, help="at most this many training rows per task (default: all)")
    parser.add_argument("--max-valid", type=int, help="score at most this many validation rows (default: all)")
    parser.add_argument("--model-option", action="append", default=[], metavar="MODEL:KEY=VALUE",
                        help="a backbone/head option for one model, repeatable (default: published sizes)")
    parser.add_argument("--batch-size", type=int,
                        help="batch size for every model (default: each recipe's own: 1024 DREAM, 128 DeepSTARR)")
    parser.add_argument("--models", default="dream_rnn,dream_cnn,deepstarr",
                        help="STARR-seq models, comma-separated (default: dream_rnn,dream_cnn,deepstarr)")
    parser.add_argument("--only", choices=("starrseq", "dream_yeast"), help="run one task only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=pathlib.Path, help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--verbose", type=int, default=0, help="Keras progress output (0, 1 or 2)")
    args = parser.parse_args(argv)
    args.options = model_options(args.model_option)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import pandas as pd

    workdir = args.workdir or pathlib.Path(tempfile.mkdtemp(prefix="dream_keras_tasks_"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    if args.only in (None, "starrseq"):
        train = first_rows(workdir, DATA / "deepstarr" / "sample_train.txt", args.max_train)
        for name in [m.strip() for m in args.models.split(",") if m.strip()]:
            backbone, head = STARR_MODELS[name]
            valid = first_rows(workdir, DATA / "deepstarr" / "sample_val.txt", args.max_valid)
            rows.append(run_one("starrseq", name, backbone, head, train, valid,
                                workdir / f"starrseq_{name}", args))
            print(pd.DataFrame([rows[-1]]).to_string(index=False), flush=True)
    if args.only in (None, "dream_yeast"):
        train, valid = yeast_tables(workdir, DATA / "dream_yeast" / "demo_train.txt", args.max_train, args.seed,
                                    args.max_valid)
        rows.append(run_one("dream_yeast", "dream_rnn", "dream_rnn", "soft_bins", train, valid,
                            workdir / "dream_yeast_dream_rnn", args))
    table = pd.DataFrame(rows)
    print()
    print(f"settings: epochs={args.epochs} max_train={args.max_train} max_valid={args.max_valid} "
          f"batch_size={args.batch_size or 'recipe'} seed={args.seed} model options={args.options or 'published'}; "
          f"run folders in {workdir}")
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
