"""``dream-keras train``: train a model on one fold or all folds, into a run folder.

``--task atac`` (default): a bias-factorised ChromBPNet-style model from a FASTA, an insertion bigWig,
peaks, nonpeaks and a trained bias model. ``--task dream_yeast|starrseq|lentimpra``: the
sequence-table tasks (``dream_keras.training.table_tasks``).
"""

from __future__ import annotations

import argparse
import importlib

from dream_keras.cli.run_arguments import (Explicit, ExplicitFlag, absolute, add_model_options, add_run_options,
                                           add_speed_options, add_strategy_option, collect_model_options,
                                           device_options, help_text, require_options, resolve_recorded_parameters,
                                           resolved)

TASKS = ("atac", "dream_yeast", "starrseq", "lentimpra")

EXAMPLES = """examples:
  dream-keras train --genome hg38.fa --bigwig insertions.bw --peaks peaks.narrowPeak \\
      --nonpeaks nonpeaks.narrowPeak --bias-model bias_run/models/bias.keras --fold 0 --out run_fold0
  dream-keras train --backbone dream_rnn ... --fold all --fold-dir my_folds/ --out runs
  dream-keras train --config run_fold0/logs/run.json --out run_fold0_again
"""


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model on one fold or all folds (ATAC or sequence tables)",
                       description=help_text(__doc__),
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=TASKS, default="atac", action=Explicit, help="the task (default: atac)")
    p.add_argument("--backbone", action=Explicit,
                   help="registered backbone (atac default: bpnet; also dream_cnn, dream_rnn, ...)")
    p.add_argument("--head", action=Explicit, help="head (default: the task's; atac: profile_count)")
    add_run_options(p)
    p.add_argument("--fold", "--folds", dest="fold", action=Explicit,
                   help="fold number (fold_N.json in --fold-dir), a fold JSON file, or 'all'")
    p.add_argument("--epochs", type=int, action=Explicit, help="most epochs (atac: 50)")
    p.add_argument("--patience", type=int, action=Explicit,
                   help="early-stopping patience in epochs, on the validation loss (atac: 5)")
    p.add_argument("--lr", type=float, action=Explicit, help="learning rate (atac: Adam 0.001)")
    p.add_argument("--batch-size", type=int, action=Explicit,
                   help="batch size per replica (atac: 64; with --strategy the step's global batch is this x replicas)")
    add_strategy_option(p)
    add_speed_options(p)
    p.add_argument("--seed", type=int, default=0, action=Explicit, help="random seed (default: 0)")
    add_model_options(p, filters_help="backbone filters (bpnet: 512)",
                      layers_help="dilated layers (bpnet: 8)")

    atac = p.add_argument_group("ATAC task")
    atac.add_argument("--genome", action=Explicit, help="reference FASTA")
    atac.add_argument("--bigwig", action=Explicit, help="per-base Tn5 insertion counts (bigWig, +4/-4 shifted)")
    atac.add_argument("--peaks", action=Explicit, help="peaks (narrowPeak: windows centred on the summit)")
    atac.add_argument("--nonpeaks", action=Explicit, help="background regions (`dream-keras prep nonpeaks`)")
    atac.add_argument("--bias-model", action=Explicit, help="trained bias model (.keras, `dream-keras bias train`)")
    atac.add_argument("--fold-dir", action=Explicit,
                      help="folder of fold_N.json files for numbered folds and 'all' (default: bundled hg38 folds)")
    atac.add_argument("--input-length", type=int, action=Explicit, help="input window (bp, default 2114)")
    atac.add_argument("--output-length", type=int, action=Explicit, help="profile window (bp, default 1000)")
    atac.add_argument("--max-jitter", type=int, action=Explicit, help="peak jitter (bp, default 500)")
    atac.add_argument("--negative-ratio", type=float, action=Explicit,
                      help="nonpeaks per peak each epoch (default 0.1)")
    atac.add_argument("--outlier-quantile", type=float, action=Explicit,
                      help="outlier filter quantile (default 0.9999)")
    atac.add_argument("--stream", action=ExplicitFlag,
                      help="read training and validation windows from the FASTA and bigWig batch by batch, in "
                           "parallel, instead of loading them all (bounded memory for large peak sets; same batches)")
    atac.add_argument("--counts-loss-weight", type=float, action=Explicit,
                      help="weight of the log-count loss (default: median peak total / 10, at least 1)")

    table = p.add_argument_group("sequence-table tasks")
    table.add_argument("--data", action=Explicit, help="training table")
    table.add_argument("--valid", action=Explicit, help="validation table")
    table.add_argument("--recipe", choices=("dream", "deepstarr", "mprann"), action=Explicit,
                       help="training recipe (default: the backbone's own)")
    table.add_argument("--accumulate", type=int, action=Explicit, metavar="N",
                       help="gradient accumulation: each step holds batch-size / N rows and the optimizer updates "
                            "every N steps, so the recipe's batch is kept with 1/N of the activations (default: 1)")
    table.add_argument("--valid-fraction", type=float, action=Explicit,
                       help="share of the training table held out for validation when --valid is not given")
    p.set_defaults(func=run)


def dispatch_to_table_tasks(args, function: str) -> int:
    """Call ``dream_keras.training.table_tasks.<function>(args)``, or say that it is not built yet."""
    from data_prep.errors import InputError

    try:
        module = importlib.import_module("dream_keras.training.table_tasks")
    except ModuleNotFoundError as error:
        if error.name != "dream_keras.training.table_tasks":
            raise
        raise InputError(f"--task {args.task} is not available yet in this version (the sequence-table tasks "
                         "module dream_keras.training.table_tasks is missing); use --task atac") from None
    return getattr(module, function)(args)


def atac_parameters(args):
    """The resolved :class:`~dream_keras.training.atac.AtacTrainParameters` of parsed arguments."""
    from dream_keras.training.atac import ATAC_DEFAULTS, AtacTrainParameters

    require_options(args, ("genome", "bigwig", "peaks", "nonpeaks", "bias_model", "fold"), "the atac task")
    defaults = ATAC_DEFAULTS
    return AtacTrainParameters(
        genome=absolute(args.genome), bigwig=absolute(args.bigwig), peaks=absolute(args.peaks),
        nonpeaks=absolute(args.nonpeaks), bias_model=absolute(args.bias_model), fold=str(args.fold),
        fold_dir=absolute(args.fold_dir), backbone=resolved(args.backbone, defaults["backbone"]),
        head=resolved(args.head, defaults["head"]), model_options=dict(args.model_options),
        input_length=resolved(args.input_length, defaults["input_length"]),
        output_length=resolved(args.output_length, defaults["output_length"]),
        max_jitter=resolved(args.max_jitter, defaults["max_jitter"]),
        negative_ratio=resolved(args.negative_ratio, defaults["negative_ratio"]),
        outlier_quantile=resolved(args.outlier_quantile, defaults["outlier_quantile"]),
        counts_loss_weight=args.counts_loss_weight, epochs=resolved(args.epochs, defaults["epochs"]),
        patience=resolved(args.patience, defaults["patience"]), lr=resolved(args.lr, defaults["lr"]),
        batch_size=resolved(args.batch_size, defaults["batch_size"]), seed=resolved(args.seed, defaults["seed"]),
        stream=bool(resolved(getattr(args, "stream", None), defaults["stream"])), **device_options(args))


def run(args) -> int:
    resolve_recorded_parameters(args, "train")
    collect_model_options(args)
    if args.task != "atac":
        return dispatch_to_table_tasks(args, "train_from_args")
    if getattr(args, "accumulate", None) not in (None, 1):
        from data_prep.errors import InputError

        raise InputError(f"--accumulate {args.accumulate}: gradient accumulation applies to the sequence-table "
                         "tasks' recipes, not to --task atac. Fix: drop --accumulate, or lower --batch-size.")
    from dream_keras.training.atac import train_atac

    summary = train_atac(atac_parameters(args), args.out, resume=args.resume, overwrite=args.overwrite)
    print()
    print(summary)
    return 0
