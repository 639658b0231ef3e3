"""``dream-keras pipeline``: from reads or an insertion bigWig to a trained, checked model, in one command.

The model is bias-factorised, evaluated and checked, with its HTML report: the official ``chrombpnet pipeline``'s
job.

Stages, each in its own folder of --out with a completion record: bigwig (reads -> per-base insertion
bigWig, or the --bigwig given), nonpeaks (GC-matched background), bias (bias model, or --bias-model),
chrombpnet (bias-factorised model, evaluation, bias QC), footprints (enzyme and TF motifs on the
bias-free model), report (report/report.html). --resume skips every complete stage and continues
from the first that is not (a killed training resumes from its last epoch); options left out on
--resume are those the pipeline was started with.
"""

from __future__ import annotations

import argparse

from dream_keras.cli.run_arguments import Explicit, absolute, help_text
from dream_keras.tasks.atac.pipeline.parameters import DATA_TYPES, DEFAULT_TF_MOTIFS, PIPELINE_DEFAULTS, READ_FORMATS

EXAMPLE = """examples:
  dream-keras pipeline --bam sample.bam --data-type ATAC --genome hg38.fa --peaks peaks.narrowPeak \\
      --blacklist blacklist.bed --fold 0 --out sample_pipeline
  dream-keras pipeline --bigwig insertions.bw --genome hg38.fa --peaks peaks.narrowPeak --fold all \\
      --bias-model earlier/bias/models/bias.keras --out sample_all_folds
  dream-keras pipeline --out sample_pipeline --resume        (continue after an interruption)
  -> sample_pipeline/report/report.html, chrombpnet/models/model.keras, model_nobias.keras, ...
"""

#: Options that map one to one onto PipelineParameters fields (the signal options are handled apart).
_PATH_FIELDS = ("genome", "peaks", "blacklist", "fold_dir", "bias_model")
_SIGNAL_OPTIONS = ("bigwig",) + READ_FORMATS


def add_parser(sub) -> None:
    """Add ``dream-keras pipeline`` to the subcommands."""
    d = PIPELINE_DEFAULTS
    p = sub.add_parser("pipeline", help="reads or bigWig -> nonpeaks, bias model, model, QC, footprints, report",
                       description=help_text(__doc__), epilog=EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    signal = p.add_argument_group("signal (one of)")
    signal.add_argument("--bigwig", action=Explicit, help="per-base insertion counts (bigWig, shift applied)")
    signal.add_argument("--bam", action=Explicit, help="aligned reads (BAM, indexed)")
    signal.add_argument("--fragments", action=Explicit, help="fragments file (.tsv or .tsv.gz)")
    signal.add_argument("--tagalign", action=Explicit, help="tagAlign file (.tagAlign or .tagAlign.gz)")
    signal.add_argument("--data-type", type=str.upper, choices=DATA_TYPES, action=Explicit,
                        help=f"assay: enzyme shift, bias threshold and enzyme motifs (default {d['data_type']})")
    signal.add_argument("--plus-shift", type=int, action=Explicit, help="shift of + strand reads (default: estimated)")
    signal.add_argument("--minus-shift", type=int, action=Explicit,
                        help="shift of - strand reads (default: estimated)")
    data = p.add_argument_group("data")
    data.add_argument("--genome", action=Explicit, help="reference FASTA")
    data.add_argument("--peaks", action=Explicit, help="peaks (narrowPeak, summit in column 10)")
    data.add_argument("--blacklist", action=Explicit, help="BED of regions no nonpeak may overlap")
    data.add_argument("--fold", action=Explicit, help="fold number (fold_N.json in --fold-dir), 'all', or a fold JSON")
    data.add_argument("--fold-dir", action=Explicit, help="folder of fold_N.json files (default: bundled hg38 folds)")
    data.add_argument("--bias-model", action=Explicit, help="reuse this trained bias model (.keras) instead of "
                                                            "training one")
    p.add_argument("--out", required=True, help="pipeline folder")
    p.add_argument("--resume", action="store_true", help="skip complete stages and continue the pipeline in --out")
    p.add_argument("--overwrite", action="store_true", help="start again in an --out a pipeline wrote before")
    p.add_argument("--allow-changed-inputs", action="store_true",
                   help="with --resume: go on when an input file changed since the pipeline started (its size and "
                        "SHA-256 are recorded); every stage that reads it runs again")
    sizes = p.add_argument_group("sizes and training (defaults: the official ChromBPNet's)")
    for flag, kind, words in (
            ("--input-length", int, "input window, bp"), ("--output-length", int, "profile window, bp"),
            ("--max-jitter", int, "peak jitter, bp"), ("--nonpeak-ratio", int, "nonpeaks per peak in every split"),
            ("--nonpeak-stride", int, "nonpeak candidate spacing, bp"),
            ("--bias-filters", int, "bias model filters"), ("--bias-n-dil-layers", int, "bias model dilated layers"),
            ("--bias-epochs", int, "bias model's most epochs"),
            ("--bias-threshold-factor", float, "bias nonpeaks' threshold factor (default: ATAC 0.5, DNASE 0.8)"),
            ("--filters", int, "main model filters"), ("--n-dil-layers", int, "main model dilated layers"),
            ("--epochs", int, "main model's most epochs"), ("--patience", int, "early-stopping patience"),
            ("--lr", float, "Adam learning rate"), ("--batch-size", int, "batch size"), ("--seed", int, "random seed"),
            ("--footprint-regions", int, "footprint on at most this many test nonpeaks (default: all)")):
        default = PIPELINE_DEFAULTS.get(flag[2:].replace("-", "_"))
        shown = f" (default {default})" if default is not None and "default" not in words else ""
        sizes.add_argument(flag, type=kind, action=Explicit, help=words + shown)
    sizes.add_argument("--footprint-motifs", nargs="+", action=Explicit, metavar="MOTIF",
                       help=f"TF motifs footprinted besides the enzyme's (default {' '.join(DEFAULT_TF_MOTIFS)})")
    p.set_defaults(func=run)


def _recorded_parameters(out) -> dict:
    """The parameters the pipeline in ``out`` was started with (``{}`` when there is none)."""
    import json
    import pathlib

    path = pathlib.Path(out) / "logs" / "pipeline.json"
    return json.loads(path.read_text()).get("parameters", {}) if path.is_file() else {}


def pipeline_parameters(args):
    """:class:`~dream_keras.tasks.atac.pipeline.PipelineParameters` from parsed arguments.

    Options given, then (with ``--resume``) the recorded ones, then the defaults.
    """
    from data_prep.errors import InputError
    from dream_keras.tasks.atac.pipeline.parameters import PipelineParameters

    given = set(getattr(args, "explicit_options", set()) or set())
    recorded = _recorded_parameters(args.out) if args.resume else {}
    if args.resume and not recorded:
        raise InputError(f"nothing to resume in {args.out}: it holds no logs/pipeline.json of a started pipeline; "
                         "start the pipeline without --resume")
    signals = [name for name in _SIGNAL_OPTIONS if name in given]
    if len(signals) > 1:
        raise InputError(f"give the signal once, not {' and '.join('--' + s for s in signals)}")
    values = {}
    if signals:
        name = signals[0]
        path = absolute(getattr(args, name))
        if name == "bigwig":
            values.update(bigwig=path, reads=None, reads_format=None)
        else:
            values.update(bigwig=None, reads=path, reads_format=name)
    else:
        values.update({key: recorded.get(key) for key in ("bigwig", "reads", "reads_format")})
    for field in ("genome", "peaks", "fold", "data_type", "plus_shift", "minus_shift", "blacklist", "fold_dir",
                  "bias_model", "input_length", "output_length", "max_jitter", "nonpeak_ratio", "nonpeak_stride",
                  "bias_filters", "bias_n_dil_layers", "bias_epochs", "bias_threshold_factor", "filters",
                  "n_dil_layers", "epochs", "patience", "lr", "batch_size", "seed", "footprint_motifs",
                  "footprint_regions"):
        if field in given:
            value = getattr(args, field)
            values[field] = absolute(value) if field in _PATH_FIELDS else value
        elif field in recorded:
            values[field] = recorded[field]
        elif field in PIPELINE_DEFAULTS:
            values[field] = PIPELINE_DEFAULTS[field]
    missing = [f"--{name.replace('_', '-')}" for name in ("genome", "peaks", "fold") if values.get(name) is None]
    if missing:
        raise InputError(f"pipeline needs {', '.join(missing)} (or --resume in the folder of a started pipeline)")
    values["fold"] = str(values["fold"])
    return PipelineParameters(**values)


def run(args) -> int:
    """Run ``dream-keras pipeline``; returns the exit status."""
    from dream_keras.tasks.atac.pipeline import run_pipeline

    result = run_pipeline(pipeline_parameters(args), args.out, resume=args.resume, overwrite=args.overwrite,
                          allow_changed_inputs=args.allow_changed_inputs)
    skipped = [name for name in result.records if name not in result.ran]
    print(f"\npipeline finished in {result.root}: ran {', '.join(result.ran) or 'nothing'}"
          f"{'; skipped (complete) ' + ', '.join(skipped) if skipped else ''}")
    print(f"report: {result.report}")
    return 0
