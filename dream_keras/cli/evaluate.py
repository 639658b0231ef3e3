"""``dream-keras evaluate``: score a profile/count model on a fold's test chromosomes.

The test peaks and nonpeaks (centred windows, edge-filtered at the model's input length) give
``metrics.json`` in the official ChromBPNet schema (peaks, nonpeaks, peaks_and_nonpeaks) and
figures. ``--run DIR`` re-evaluates a training run with the inputs of its run.json and writes into
``DIR/evaluation``; otherwise give the model, the data and ``--out``.
"""

from __future__ import annotations

import argparse
import pathlib

from dream_keras.cli.run_arguments import help_text

EXAMPLES = """examples:
  dream-keras evaluate --run run_fold0
  dream-keras evaluate --model run_fold0/models/model.keras --genome hg38.fa --bigwig insertions.bw \\
      --peaks peaks.narrowPeak --nonpeaks nonpeaks.narrowPeak --fold 0 --out eval_fold0
"""


def add_parser(sub) -> None:
    """Add ``dream-keras evaluate`` to the subcommands."""
    p = sub.add_parser("evaluate", help="metrics.json and figures of a model on a fold's test chromosomes",
                       description=help_text(__doc__),
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", help="a run folder of train or bias train: its model and its run.json inputs")
    p.add_argument("--model", help="model .keras (default with --run: RUN/models/model.keras, or bias.keras)")
    p.add_argument("--genome", help="reference FASTA")
    p.add_argument("--bigwig", help="per-base insertion counts (bigWig)")
    p.add_argument("--peaks", help="peaks (narrowPeak)")
    p.add_argument("--nonpeaks", help="background regions (optional: without them only peaks are scored)")
    p.add_argument("--fold", help="fold number (fold_N.json in --fold-dir) or a fold JSON file")
    p.add_argument("--fold-dir", help="folder of fold_N.json files (default: bundled hg38 folds)")
    p.add_argument("--out", help="output folder (default with --run: RUN/evaluation)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--batch-size", type=int, default=64, help="prediction batch size (default 64)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``dream-keras evaluate``; returns the exit status."""
    from data_prep.errors import InputError
    from data_prep.outputs import RunFolder, open_output, read_run_json
    from dream_keras.tasks.atac.evaluation import write_evaluation
    from dream_keras.tasks.atac.profile_count_fit import read_training_log

    history, run_folder = None, None
    if args.run:
        run_folder = RunFolder(pathlib.Path(args.run).absolute())
        recorded = read_run_json(run_folder.logs / "run.json")["parameters"]
        for key in ("genome", "bigwig", "peaks", "nonpeaks", "fold", "fold_dir"):
            if getattr(args, key) is None:
                setattr(args, key, recorded.get(key))
        if args.model is None:  # a training run's model, or a bias run's
            trained = run_folder.models / "model.keras"
            args.model = str(trained if trained.is_file() or not (run_folder.models / "bias.keras").is_file()
                             else run_folder.models / "bias.keras")
        out = pathlib.Path(args.out).absolute() if args.out else run_folder.evaluation
        history = read_training_log(run_folder)
    else:
        missing = [f"--{k.replace('_', '-')}" for k in ("model", "genome", "bigwig", "peaks", "fold", "out")
                   if getattr(args, k) is None]
        if missing:
            raise InputError(f"evaluate needs {', '.join(missing)} (or --run RUN_FOLDER)")
        out = pathlib.Path(args.out).absolute()
    # Written into the run folder (its evaluation/ by default), the run folder is the output: it is
    # locked and its manifest goes on, so that a later --overwrite may delete the new files. Elsewhere
    # the evaluation folder is an output of its own.
    into_run = run_folder is not None and out.is_relative_to(run_folder.root)
    with open_output(run_folder.root if into_run else out, resume=into_run,
                     overwrite=bool(args.overwrite) and not into_run,
                     option="--run" if into_run else "--out") as output:
        evaluation, summary = _evaluate(args)
        output.make()
        written = write_evaluation(evaluation, output.path / out.relative_to(output.final), history=history,
                                   title=pathlib.Path(args.model).stem)
    print(summary)
    print("wrote " + ", ".join(str(output.final_path(path)) for path in written.values()))
    return 0


def _evaluate(args):
    """Score ``args.model`` on the test chromosomes; returns ``(evaluation, the lines to print)``."""
    from data_prep.atac.inputs import check_atac_inputs, extract_split, resolve_folds
    from data_prep.errors import InputError
    from dream_keras.tasks.atac.evaluation import evaluate_model, format_metrics
    from dream_keras.tasks.atac.prediction import load_profile_count_model, model_lengths

    folds = resolve_folds(args.fold, args.fold_dir)
    if len(folds) != 1:
        raise InputError("evaluate scores one fold; pass --fold N or a fold JSON file")
    model = load_profile_count_model(args.model)
    input_length, output_length = model_lengths(model)
    inputs = check_atac_inputs(genome=args.genome, bigwig=args.bigwig, peaks=args.peaks, nonpeaks=args.nonpeaks,
                               fold=folds[0], need_splits=("test",))
    peaks, dropped = extract_split(inputs, "peaks", ("test",), input_length=input_length, output_length=output_length)
    nonpeaks = None
    if inputs.nonpeaks is not None:
        nonpeaks, _ = extract_split(inputs, "nonpeaks", ("test",), input_length=input_length,
                                    output_length=output_length)
    evaluation = evaluate_model(model, peaks, nonpeaks, batch_size=args.batch_size)
    summary = (f"{folds[0].label}: {len(peaks.sequences)} test peaks ({dropped} dropped near chromosome ends), "
               f"{len(nonpeaks.sequences) if nonpeaks is not None else 0} test nonpeaks\n"
               f"{format_metrics(evaluation.summary())}")
    return evaluation, summary
