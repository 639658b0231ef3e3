"""``dream-keras train``: train a model on one fold or all folds, into a run folder.

``--task atac`` (default): a bias-factorised ChromBPNet-style model from a FASTA, an insertion bigWig,
peaks, nonpeaks and a trained bias model. ``--task dream_yeast|starrseq|lentimpra``: the
sequence-table tasks (``dream_keras.tasks.tables.train``).
"""

from __future__ import annotations

import argparse
import dataclasses

from dream_keras.cli.run_arguments import (
    Explicit,
    ExplicitFlag,
    add_atac_inputs,
    add_atac_numbers,
    add_model_options,
    add_run_options,
    add_training_options,
    atac_run_parameters,
    collect_model_options,
    help_text,
    resolve_recorded_parameters,
)
from dream_keras.tasks.atac.parameters import AtacTrainParameters
from dream_keras.tasks.parameter_defaults import field_default

TASKS = ("atac", "dream_yeast", "starrseq", "lentimpra")

EXAMPLES = """examples:
  dream-keras train --genome hg38.fa --bigwig insertions.bw --peaks peaks.narrowPeak \\
      --nonpeaks nonpeaks.narrowPeak --bias-model bias_run/models/bias.keras --fold 0 --out run_fold0
  dream-keras train --backbone dream_rnn ... --fold all --fold-dir my_folds/ --out runs
  dream-keras train --config run_fold0/logs/run.json --out run_fold0_again
"""


def _default(name: str):
    return field_default(AtacTrainParameters, name)


def add_parser(sub) -> None:
    """Add ``dream-keras train`` to the subcommands."""
    p = sub.add_parser("train", help="train a model on one fold or all folds (ATAC or sequence tables)",
                       description=help_text(__doc__),
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=TASKS, default="atac", action=Explicit, help="the task (default: atac)")
    p.add_argument("--backbone", action=Explicit,
                   help=f"registered backbone (atac default: {_default('backbone')}; also dream_cnn, dream_rnn, ...)")
    p.add_argument("--head", action=Explicit, help=f"head (default: the task's; atac: {_default('head')})")
    add_run_options(p)
    p.add_argument("--fold", "--folds", dest="fold", action=Explicit,
                   help="fold number (fold_N.json in --fold-dir), a fold JSON file, or 'all'")
    add_training_options(p, AtacTrainParameters, label="atac:")
    add_model_options(p, filters_help="backbone filters (default: the backbone's own)",
                      layers_help="dilated layers (default: the backbone's own)")

    atac = p.add_argument_group("ATAC task")
    add_atac_inputs(atac, "--genome", "--bigwig", "--peaks", "--nonpeaks", "--bias-model", "--fold-dir")
    add_atac_numbers(atac, AtacTrainParameters, "--input-length", "--output-length", "--max-jitter",
                     "--negative-ratio", "--outlier-quantile")
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


def train_table(args) -> int:
    """``dream-keras train --task dream_yeast|starrseq|lentimpra ...``.

    The parsed options as a :class:`~dream_keras.tasks.tables.parameters.TableTrainParameters`, whose defaults hold for
    those not given.
    """
    from dream_keras.tasks.tables.parameters import TableTrainParameters
    from dream_keras.tasks.tables.train import format_table_result, train_tables

    require_table_data(args)
    names = {field.name for field in dataclasses.fields(TableTrainParameters)} - {"task", "data", "model_options"}
    given = {name: getattr(args, name) for name in sorted(names) if getattr(args, name, None) is not None}
    params = TableTrainParameters(task=args.task, data=args.data, model_options=dict(args.model_options or {}),
                                  **given)
    result = train_tables(params, args.out, overwrite=bool(args.overwrite), resume=bool(args.resume))
    print(format_table_result(result))
    return 0


def require_table_data(args) -> None:
    """Stop a sequence-table run without ``--data``, saying where the bundled sample and the full set are."""
    if args.data:
        return
    from data_prep.bundled import bundled_table
    from data_prep.errors import InputError

    sample = bundled_table(args.task)
    valid = f" --valid {sample.valid}" if sample.valid else ""
    raise InputError(f"--task {args.task} needs --data TABLE. A small real sample ships with the package: "
                     f"--data {sample.train}{valid} (try it with --epochs 1). The full public set is "
                     f"{sample.full_set}.")


def atac_parameters(args) -> AtacTrainParameters:
    """The ATAC training parameters of parsed arguments.

    The :class:`~dream_keras.tasks.atac.parameters.AtacTrainParameters` of parsed arguments (options not given keep the
    defaults declared there).
    """
    params = atac_run_parameters(args, AtacTrainParameters, "the atac task")
    return dataclasses.replace(params, stream=bool(params.stream))


def recorded_schema(parameters: dict):
    """The parameters object that checks a ``train`` run.json, and its extra recorded keys.

    The parameters object that checks a ``train`` run.json's parameters (ATAC or a table task), and the keys it records
    besides its fields.
    """
    if parameters.get("task", "atac") == "atac":
        return AtacTrainParameters, ("task",)
    from dream_keras.tasks.tables.parameters import DERIVED_KEYS, TableTrainParameters

    return TableTrainParameters, DERIVED_KEYS


def run(args) -> int:
    """Run ``dream-keras train``; returns the exit status."""
    resolve_recorded_parameters(args, "train", recorded_schema)
    collect_model_options(args)
    if args.task != "atac":
        return train_table(args)
    if getattr(args, "accumulate", None) not in (None, 1):
        from data_prep.errors import InputError

        raise InputError(f"--accumulate {args.accumulate}: gradient accumulation applies to the sequence-table "
                         "tasks' recipes, not to --task atac. Fix: drop --accumulate, or lower --batch-size.")
    from dream_keras.tasks.atac.train import train_atac

    summary = train_atac(atac_parameters(args), args.out, resume=args.resume, overwrite=args.overwrite)
    print()
    print(summary)
    return 0
