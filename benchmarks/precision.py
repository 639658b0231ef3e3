"""Benchmark: does mixed precision reach float32's validation loss? Two-epoch runs on the real fixture.

On the bundled mouse ATAC fixture (``tests/data/atac_mm10``, fold 0): background regions
(``dream-keras prep nonpeaks``), one float32 bias model (``dream-keras bias train``), then the same
bias-factorised ``dream-keras train`` run under each ``--precision`` (same seed, same data, same
batches), for ``--epochs`` epochs. Printed per precision: the validation loss of every epoch (from
``logs/training_log.csv``), the best one, its relative difference to float32's (target: within
2 %), and the wall time of the training command.

    python benchmarks/precision.py                                   # bpnet 64 filters / 4 layers
    python benchmarks/precision.py --filters 128 --precision float32,mixed_bfloat16,mixed_float16
"""

from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
import time

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "atac_mm10"


def _data_args(nonpeaks: pathlib.Path) -> list[str]:
    return ["--genome", str(FIXTURE / "genome.fa"), "--bigwig", str(FIXTURE / "tn5_insertions.bw"),
            "--peaks", str(FIXTURE / "peaks.narrowPeak"), "--nonpeaks", str(nonpeaks),
            "--fold-dir", str(FIXTURE / "folds"), "--fold", "0"]


def main(argv=None) -> None:
    """Train under each dtype policy and print the validation losses and step times."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precision", default="float32,mixed_bfloat16", help="comma-separated dtype policies")
    parser.add_argument("--backbone", default="bpnet")
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--n-dil-layers", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8, help="small, so that an epoch has several steps")
    parser.add_argument("--jit-compile", default="auto")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import pandas as pd

    from dream_keras.cli import main as cli

    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        nonpeaks = work / "nonpeaks.narrowPeak"
        cli(["prep", "nonpeaks", "--genome", str(FIXTURE / "genome.fa"), "--peaks", str(FIXTURE / "peaks.narrowPeak"),
             "--fold", "0", "--fold-dir", str(FIXTURE / "folds"), "--out", str(nonpeaks), "--stride", "256",
             "--ratio", "2"])
        bias = work / "bias"
        cli(["bias", "train", *_data_args(nonpeaks), "--out", str(bias), "--filters", "16", "--n-dil-layers", "2",
             "--epochs", "2", "--batch-size", str(args.batch_size)])
        results = {}
        for precision in precisions:
            out = work / precision
            started = time.perf_counter()
            cli(["train", *_data_args(nonpeaks), "--bias-model", str(bias / "models" / "bias.keras"),
                 "--out", str(out), "--backbone", args.backbone, "--filters", str(args.filters), "--n-dil-layers",
                 str(args.n_dil_layers), "--epochs", str(args.epochs), "--patience", str(args.epochs),
                 "--batch-size", str(args.batch_size), "--precision", precision, "--jit-compile", args.jit_compile])
            seconds = time.perf_counter() - started
            log = pd.read_csv(out / "logs" / "training_log.csv")
            results[precision] = (log["val_loss"].tolist(), seconds)

    print(f"\n{args.backbone} {args.filters} filters / {args.n_dil_layers} layers, 2114 -> 1000 bp, batch "
          f"{args.batch_size}, {args.epochs} epochs, --jit-compile {args.jit_compile}; fixture {FIXTURE.name} fold 0")
    reference = min(results[precisions[0]][0])
    for precision, (losses, seconds) in results.items():
        best = min(losses)
        print(f"{precision:15s} val_loss per epoch {', '.join(f'{v:.4f}' for v in losses)}; best {best:.4f} "
              f"({(best - reference) / reference:+.2%} vs {precisions[0]}); training command {seconds:.0f} s")
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")


if __name__ == "__main__":
    main()
