"""``dream-keras bias train``: train the bias model of one fold (the official ChromBPNet bias stage)."""

from __future__ import annotations

import argparse

from dream_keras.cli.run_arguments import (
    Explicit,
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
from dream_keras.tasks.atac.parameters import BiasTrainParameters
from dream_keras.tasks.parameter_defaults import field_default

EXAMPLE = """example:
  dream-keras bias train --genome hg38.fa --bigwig insertions.bw --peaks peaks.narrowPeak \\
      --nonpeaks nonpeaks.narrowPeak --fold 0 --out bias_run
  -> bias_run/models/bias.keras, for `dream-keras train --bias-model bias_run/models/bias.keras ...`
"""


def _default(name: str):
    return field_default(BiasTrainParameters, name)


def add_parser(sub) -> None:
    """Add ``dream-keras bias train`` to the subcommands."""
    p = sub.add_parser("bias", help="the bias-model stage (bias train)")
    bias_sub = p.add_subparsers(dest="bias_command", required=True, metavar="BIAS_COMMAND")
    t = bias_sub.add_parser("train", help="train the bias model on low-signal background regions",
                            description=help_text(__doc__), epilog=EXAMPLE,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_atac_inputs(t, "--genome", "--bigwig", "--peaks", "--nonpeaks")
    t.add_argument("--fold", action=Explicit, help="fold number (fold_N.json in --fold-dir) or a fold JSON file")
    add_atac_inputs(t, "--fold-dir")
    add_run_options(t)
    t.add_argument("--backbone", action=Explicit,
                   help=f"bias backbone (default: {_default('backbone')}, as the official bias model)")
    add_model_options(t, filters_help="filters (default: the backbone's official bias model's, e.g. bpnet's)",
                      layers_help="dilated layers (default: the backbone's official bias model's)")
    t.add_argument("--bias-threshold-factor", type=float, action=Explicit,
                   help="nonpeaks must have totals below 0.01-quantile(peak totals) x this (ATAC "
                        f"{_default('bias_threshold_factor')}, DNase 0.8)")
    add_atac_numbers(t, BiasTrainParameters, "--input-length", "--output-length", "--outlier-quantile")
    t.add_argument("--counts-loss-weight", type=float, action=Explicit,
                   help="weight of the log-count loss (default: median kept total / 10, at least 1)")
    add_training_options(t, BiasTrainParameters)
    t.set_defaults(func=run_train)


def bias_parameters(args) -> BiasTrainParameters:
    """The bias training parameters of parsed arguments.

    The :class:`~dream_keras.tasks.atac.parameters.BiasTrainParameters` of parsed arguments (options not given keep the
    defaults declared there).
    """
    return atac_run_parameters(args, BiasTrainParameters, "bias train")


def run_train(args) -> int:
    """Run ``dream-keras bias train``; returns the exit status."""
    from data_prep.atac.inputs import resolve_folds
    from data_prep.errors import InputError
    from dream_keras.tasks.atac.bias_stage import format_bias_summary, train_bias

    resolve_recorded_parameters(args, "bias train", lambda parameters: (BiasTrainParameters, ("task",)))
    collect_model_options(args)
    params = bias_parameters(args)
    folds = resolve_folds(params.fold, params.fold_dir)
    if len(folds) != 1:
        raise InputError("bias train trains one fold at a time; pass --fold N or a fold JSON file (the bias model "
                         "of one fold serves every fold's main model when they share the data)")
    result = train_bias(params, folds[0], args.out, resume=args.resume, overwrite=args.overwrite)
    print()
    print(format_bias_summary(result))
    return 0
