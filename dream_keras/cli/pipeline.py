"""``dream-keras pipeline``: from reads or an insertion bigWig to a trained, checked model, in one command.

The model is bias-factorised, evaluated and checked, with its HTML report: the official ``chrombpnet pipeline``'s
job.

Stages, each in its own folder of --out with a completion record: bigwig (reads -> per-base insertion
bigWig, or the --bigwig given), nonpeaks (GC-matched background), bias (bias model, or --bias-model),
chrombpnet (bias-factorised model, evaluation, bias QC), footprints (enzyme and TF motifs on the
bias-free model), motifs (TF-MoDISco on the bias-free model's contributions, named against a motif
database, and the motif bias check), report (report/report.html). --resume skips every complete
stage and continues from the first that is not (a killed training resumes from its last epoch);
options left out on --resume are those the pipeline was started with.

Many samples: --samples SHEET runs the pipeline of every row of a sample sheet (name, signal, peaks;
optional nonpeaks and bias_model) into --out/<name>/, with the other options shared; --bias-from
NAME trains one bias model on that sample and reuses it in the others (rescaled to each sample's
depth); --only NAME runs one row (a job of a Slurm array); --summarize writes --out/summary.tsv and
--out/report.html from whatever has finished.
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
  dream-keras pipeline --samples bigwigs/samples.tsv --peaks peaks.narrowPeak --genome hg38.fa --fold 0 \
      --bias-from B_cells --out study        (every sample; study/summary.tsv, study/report.html)
  dream-keras pipeline --samples samples.tsv ... --out study --only T_cells --resume   (one sample)
  dream-keras pipeline --samples samples.tsv --out study --summarize
"""

#: Options that map one to one onto PipelineParameters fields (the signal options are handled apart).
_PATH_FIELDS = ("genome", "peaks", "blacklist", "fold_dir", "bias_model", "motif_db", "nonpeaks")
_SIGNAL_OPTIONS = ("bigwig",) + READ_FORMATS


def add_parser(sub) -> None:
    """Add ``dream-keras pipeline`` to the subcommands."""
    d = PIPELINE_DEFAULTS
    p = sub.add_parser("pipeline", help="reads or bigWig -> nonpeaks, bias model, model, QC, footprints, motifs, "
                                        "report",
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
    data.add_argument("--nonpeaks", action=Explicit, help="background regions (narrowPeak/BED) to use instead of "
                                                          "making GC-matched ones")
    p.add_argument("--out", required=True, help="pipeline folder (with --samples: the study folder)")
    study = p.add_argument_group("many samples")
    study.add_argument("--samples", metavar="SHEET",
                       help="sample sheet (TSV/CSV with header: name, one of bigwig/bam/fragments/tagalign/reads, "
                            "peaks; optional nonpeaks, bias_model): one pipeline per row in --out/<name>/")
    study.add_argument("--only", metavar="NAME", help="with --samples: run this sample only (a job of an array)")
    study.add_argument("--bias-from", metavar="NAME",
                       help="with --samples: train the bias model on this sample and reuse it in the others")
    study.add_argument("--summarize", action="store_true",
                       help="with --samples: write --out/summary.tsv and report.html from what has finished")
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
            ("--bias-filters", int, "bias model filters (default: the backbone's bias model's)"),
            ("--bias-n-dil-layers", int, "bias model dilated layers (default: the backbone's bias model's)"),
            ("--bias-epochs", int, "bias model's most epochs"),
            ("--bias-threshold-factor", float, "bias nonpeaks' threshold factor (default: ATAC 0.5, DNASE 0.8)"),
            ("--filters", int, "main model filters (default: the backbone's own)"),
            ("--n-dil-layers", int, "main model dilated layers (default: the backbone's own)"),
            ("--epochs", int, "main model's most epochs"), ("--patience", int, "early-stopping patience"),
            ("--lr", float, "Adam learning rate"), ("--batch-size", int, "batch size per replica"),
            ("--seed", int, "random seed"),
            ("--footprint-regions", int, "footprint on at most this many test nonpeaks (default: all)")):
        default = PIPELINE_DEFAULTS.get(flag[2:].replace("-", "_"))
        shown = f" (default {default})" if default is not None and "default" not in words else ""
        sizes.add_argument(flag, type=kind, action=Explicit, help=words + shown)
    sizes.add_argument("--footprint-motifs", nargs="+", action=Explicit, metavar="MOTIF",
                       help=f"TF motifs footprinted besides the enzyme's (default {' '.join(DEFAULT_TF_MOTIFS)})")
    motifs = p.add_argument_group("motifs (defaults: the official pipeline's TF-MoDISco step)")
    motifs.add_argument("--motif-peaks", type=int, action=Explicit,
                        help=f"explain at most this many peaks, sampled (default {d['motif_peaks']:,})")
    motifs.add_argument("--motif-window", type=int, action=Explicit,
                        help=f"central bases TF-MoDISco reads (default {d['motif_window']})")
    motifs.add_argument("--motif-max-seqlets", type=int, action=Explicit,
                        help=f"most seqlets per sign (default {d['motif_max_seqlets']:,})")
    motifs.add_argument("--motif-output", choices=["profile", "counts"], action=Explicit,
                        help=f"the output explained (default {d['motif_output']})")
    motifs.add_argument("--motif-contribution-method", action=Explicit, metavar="METHOD",
                        choices=["auto", "deepshap", "integrated_gradients", "gradient_x_input"],
                        help=f"contribution method: auto (DeepSHAP, the official method, where every layer of the "
                             f"model has a DeepLIFT rule, else integrated_gradients), deepshap, integrated_gradients "
                             f"or gradient_x_input (default {d['motif_contribution_method']})")
    motifs.add_argument("--motif-db", action=Explicit, metavar="MEME",
                        help="MEME file the patterns are named against (default: the bundled database, Tn5/DNase "
                             "bias motifs and JASPAR 2024 CORE vertebrates non-redundant)")
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
                  "bias_model", "nonpeaks", "input_length", "output_length", "max_jitter", "nonpeak_ratio",
                  "nonpeak_stride",
                  "bias_filters", "bias_n_dil_layers", "bias_epochs", "bias_threshold_factor", "filters",
                  "n_dil_layers", "epochs", "patience", "lr", "batch_size", "seed", "footprint_motifs",
                  "footprint_regions", "motif_peaks", "motif_window", "motif_max_seqlets", "motif_output",
                  "motif_contribution_method", "motif_db"):
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


def shared_options(args) -> dict:
    """The options given on the command line, for every sample of ``--samples``: ``{field: value}``."""
    from data_prep.errors import InputError

    given = set(getattr(args, "explicit_options", set()) or set())
    signals = [name for name in _SIGNAL_OPTIONS if name in given]
    if signals:
        raise InputError(f"--samples takes each sample's signal from the sheet; leave out --{signals[0]}")
    shared = {}
    for field in given:
        value = getattr(args, field)
        shared[field] = absolute(value) if field in _PATH_FIELDS else value
    if "fold" in shared:
        shared["fold"] = str(shared["fold"])
    return shared


def run_samples(args) -> int:
    """``pipeline --samples``: every sample (or ``--only``), or ``--summarize``."""
    from data_prep.errors import InputError
    from dream_keras.tasks.atac.study import read_sample_sheet, run_study, summarize_study

    sheet = read_sample_sheet(args.samples)
    if args.summarize:
        if args.only or args.bias_from or args.resume or args.overwrite:
            raise InputError("--summarize only reads the study folder; leave out --only, --bias-from, --resume and "
                             "--overwrite")
        summary = summarize_study(sheet, args.out)
        print("\n".join(summary.lines()))
        return 0
    result = run_study(sheet, args.out, shared_options(args), bias_from=args.bias_from, only=args.only,
                       resume=args.resume, overwrite=args.overwrite)
    if result.summary is not None:
        print("\n" + "\n".join(result.summary.lines()))
    else:
        print(f"\nsample {args.only} finished; when every sample has, `dream-keras pipeline --samples {args.samples} "
              f"--out {args.out} --summarize` writes the study's summary.tsv and report.html")
    if result.failed:
        print(f"failed: {', '.join(f'{name} ({message})' for name, message in result.failed.items())}")
        return 1
    return 0


def run(args) -> int:
    """Run ``dream-keras pipeline`` (a study with ``--samples``).

    Args:
        args: the parsed command line.

    Returns:
        The exit status.

    Raises:
        InputError: an option that belongs to ``--samples`` is given without it.
    """
    from data_prep.errors import InputError

    if args.samples:
        return run_samples(args)
    for option in ("only", "bias_from", "summarize"):
        if getattr(args, option):
            raise InputError(f"--{option.replace('_', '-')} belongs to --samples (a sample sheet)")
    from dream_keras.tasks.atac.pipeline import run_pipeline

    result = run_pipeline(pipeline_parameters(args), args.out, resume=args.resume, overwrite=args.overwrite,
                          allow_changed_inputs=args.allow_changed_inputs)
    skipped = [name for name in result.records if name not in result.ran]
    print(f"\npipeline finished in {result.root}: ran {', '.join(result.ran) or 'nothing'}"
          f"{'; skipped (complete) ' + ', '.join(skipped) if skipped else ''}")
    print(f"report: {result.report}")
    return 0
