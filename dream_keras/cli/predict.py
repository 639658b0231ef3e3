"""``dream-keras predict``: predictions of one model, or the average of several, over regions.

ATAC (``--task atac``, default): windows centred on each region's summit (narrowPeak) or midpoint
(BED) give a bigWig of predicted per-base counts, softmax(profile) x exp(logcounts), over each
region's output window, and an HDF5 file of profile probabilities and log-counts with coordinates.
``--out PREFIX`` writes ``PREFIX.bw`` and ``PREFIX.h5``; ``--bigwig-out``/``--h5-out`` name the
files instead (give one of them to write only that one). Several ``--model`` files (e.g. the five
fold models) are averaged: profile probabilities averaged, counts averaged. Where the output
windows of several regions overlap, the bigWig holds the mean of the predictions covering a base.
``--no-bias`` predicts with the bias-free part of bias-factorised models (bias-corrected signal).

Sequence tables (``--task dream_yeast|starrseq|lentimpra``): ``--data TABLE --out PRED.tsv``.
"""

from __future__ import annotations

import argparse
import pathlib

from dream_keras.cli.run_arguments import help_text
from dream_keras.cli.train import TASKS

EXAMPLES = """examples:
  dream-keras predict --model run/models/model_nobias.keras --genome hg38.fa --regions peaks.narrowPeak \\
      --out predictions/nobias           # -> predictions/nobias.bw, predictions/nobias.h5
  dream-keras predict --model runs/fold_*/models/model.keras --no-bias --genome hg38.fa \\
      --regions peaks.narrowPeak --bigwig-out mean_of_folds.bw
"""


def add_parser(sub) -> None:
    """Add ``dream-keras predict`` to the subcommands."""
    p = sub.add_parser("predict", help="predict regions (bigWig + HDF5) or sequence tables, one model or several",
                       description=help_text(__doc__),
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=TASKS, default="atac", help="the task (default: atac)")
    p.add_argument("--model", nargs="+", required=True, help="model .keras file(s); several are averaged")
    p.add_argument("--out", help="atac: output prefix (PREFIX.bw, PREFIX.h5); tables: the output table")
    p.add_argument("--batch-size", type=int, default=64, help="prediction batch size (default 64)")
    atac = p.add_argument_group("ATAC task")
    atac.add_argument("--genome", help="reference FASTA")
    atac.add_argument("--regions", help="regions to predict (narrowPeak: summit-centred; BED: midpoint-centred)")
    atac.add_argument("--bigwig-out", help="bigWig path (instead of PREFIX.bw)")
    atac.add_argument("--h5-out", help="HDF5 path (instead of PREFIX.h5)")
    atac.add_argument("--no-bias", action="store_true",
                      help="use only the bias-free part of bias-factorised models (bias-corrected predictions)")
    atac.add_argument("--overwrite", action="store_true", help="replace existing output files")
    table = p.add_argument_group("sequence-table tasks")
    table.add_argument("--data", help="table of sequences to predict")
    p.set_defaults(func=run)


def output_paths(args) -> tuple[pathlib.Path | None, pathlib.Path | None]:
    """``(bigwig path, h5 path)`` from ``--out PREFIX`` and/or ``--bigwig-out``/``--h5-out``."""
    from data_prep.errors import InputError

    bigwig = pathlib.Path(args.bigwig_out) if args.bigwig_out else None
    h5 = pathlib.Path(args.h5_out) if args.h5_out else None
    if args.out and bigwig is None and h5 is None:
        prefix = str(args.out)
        for suffix in (".bw", ".bigwig", ".h5"):
            prefix = prefix.removesuffix(suffix)
        bigwig, h5 = pathlib.Path(prefix + ".bw"), pathlib.Path(prefix + ".h5")
    if bigwig is None and h5 is None:
        raise InputError("predict needs --out PREFIX (writes PREFIX.bw and PREFIX.h5) or --bigwig-out/--h5-out")
    return bigwig, h5


def predict_table(args) -> int:
    """``dream-keras predict --task NAME --model M.keras [...] --data TABLE --out PRED.tsv [--batch-size N]``."""
    from data_prep.errors import InputError
    from dream_keras.console import predict_verbosity
    from dream_keras.tasks.tables.prediction import predict_table_task

    if getattr(args, "out", None) is None or getattr(args, "data", None) is None:
        raise InputError(f"predict --task {args.task} needs --data TABLE and --out PRED.tsv.")
    from data_prep.outputs import open_output

    out = pathlib.Path(args.out)
    if out.suffix.lower() not in (".tsv", ".txt"):
        raise InputError(f"--out {out}: predictions are written as a tab-separated table. Fix: name a .tsv file.")
    with open_output(out, kind="files", overwrite=bool(getattr(args, "overwrite", False))):
        frame = predict_table_task(args.task, args.model, args.data, out, batch_size=args.batch_size,
                                   verbose=predict_verbosity())  # a progress bar only on a terminal
    columns = [c for c in frame.columns if c.startswith("pred_")]
    print(f"wrote {len(frame)} rows with {', '.join(columns)} to {out}")
    return 0


def run(args) -> int:
    """Run ``dream-keras predict``; returns the exit status."""
    if args.task != "atac":
        return predict_table(args)
    from data_prep.errors import InputError
    from data_prep.outputs import open_output

    missing = [f"--{k}" for k in ("genome", "regions") if getattr(args, k) is None]
    if missing:
        raise InputError(f"predict (atac) needs {', '.join(missing)}")
    bigwig, h5 = output_paths(args)
    written = [path for path in (bigwig, h5) if path is not None]
    with open_output(written, kind="files", overwrite=args.overwrite):
        return _predict_regions(args, bigwig, h5, written)


def _predict_regions(args, bigwig, h5, written) -> int:
    from data_prep.outputs import paired_paths
    from dream_keras.tasks.atac.prediction import (
        load_profile_count_models,
        predict_regions,
        write_prediction_bigwig,
        write_prediction_h5,
    )

    models = load_profile_count_models(args.model, no_bias=args.no_bias)
    from dream_keras.tasks.atac.profile_count_fit import quiet_retracing_warnings

    with quiet_retracing_warnings():  # several models, and a shorter last batch, retrace the predict step
        predictions = predict_regions(models, args.genome, args.regions, batch_size=args.batch_size)
    if len(predictions.dropped):
        print(f"note: {len(predictions.dropped)} region(s) of {args.regions} dropped: their input window runs off the "
              "chromosome end")
    # the bigWig and the HDF5 of one prediction become visible together (data_prep.outputs.paired)
    with paired_paths(written) as staged:
        staged = dict(zip(written, staged))
        if bigwig is not None:
            write_prediction_bigwig(predictions, staged[bigwig])
        if h5 is not None:
            write_prediction_h5(predictions, staged[h5], model_paths=[str(pathlib.Path(m).resolve())
                                                                      for m in args.model])
    what = f"the mean of {len(models)} models" if len(models) > 1 else "1 model"
    print(f"predicted {len(predictions.regions)} regions with {what}{' (bias-free parts)' if args.no_bias else ''}; "
          f"wrote {', '.join(map(str, written))}")
    return 0
