"""``dream-keras quickstart``: ``dream-keras pipeline`` for fold 0 on the real data bundled with the package.

Mouse ATAC-seq (mm10 chr17:64-65 Mb as five 200 kb pseudo-chromosomes, 87 peaks; see
``data_prep/data/atac_mm10/PROVENANCE.txt``), from its aligned reads (reads.bam): the Tn5 insertion
bigWig (shift estimated from the reads), GC-matched nonpeaks,
a bias model, a bias-factorised BPNet, its evaluation on the test chromosome with the bias QC,
footprints of the Tn5 and a few TF motifs, and report/report.html; then the metrics and where
everything is. Windows are the official 2,114 bp input and 1,000 bp output with +/-500 bp jitter;
the models are small (bias: 16 filters / 2 dilated layers; main model: 32 filters / 4 dilated
layers) and train with batch 16 (the data hold ~50 training peaks), so the chain runs in a few
minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import pathlib
import textwrap
import time

from dream_keras.cli.run_arguments import help_text

#: What the quickstart sets otherwise than ``dream-keras pipeline`` (see the module docstring); windows,
#: patience and seed are the pipeline's own defaults.
QUICKSTART = {"nonpeak_ratio": 4, "bias_options": {"filters": 16, "n_dil_layers": 2}, "bias_epochs": 15,
              "main_options": {"filters": 32, "n_dil_layers": 4}, "main_epochs": 25, "batch_size": 16}


def add_parser(sub) -> None:
    """Add ``dream-keras quickstart`` to the subcommands."""
    p = sub.add_parser("quickstart", help="run the whole pipeline on bundled real data (fold 0)",
                       description=help_text(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="quickstart_out", help="output folder (default: quickstart_out)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier quickstart folder")
    p.add_argument("--resume", action="store_true", help="continue an interrupted quickstart in --out")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"most epochs of the main model (default {QUICKSTART['main_epochs']}; 20 with --synthetic)")
    p.add_argument("--bias-epochs", type=int, default=None,
                   help=f"most epochs of the bias model (default {QUICKSTART['bias_epochs']}; 4 with --synthetic)")
    p.add_argument("--synthetic", action="store_true",
                   help="a larger demonstration on generated data a model can learn: peak heights follow planted "
                        "CTCF sites, insertions carry a Tn5 bias (longer: 4,000 peaks, 20 epochs; see "
                        "dream_keras/cli/quickstart_synthetic.py)")
    p.set_defaults(func=run)


def quickstart_parameters(epochs: int, bias_epochs: int):
    """The :class:`~dream_keras.tasks.atac.pipeline.PipelineParameters` of the quickstart (bundled data, fold 0)."""
    from data_prep import bundled_atac_data
    from dream_keras.tasks.atac.pipeline import PipelineParameters
    from dream_keras.tasks.atac.pipeline.parameters import PIPELINE_DEFAULTS

    data = bundled_atac_data()
    q = QUICKSTART
    return PipelineParameters(
        genome=str(data.genome), peaks=str(data.peaks), fold="0", reads=str(data.reads), reads_format="bam",
        data_type="ATAC", fold_dir=str(data.folds), nonpeak_ratio=q["nonpeak_ratio"],
        # candidates every half window: the bundled 1 Mb holds too few at the default stride
        nonpeak_stride=PIPELINE_DEFAULTS["input_length"] // 2,
        bias_filters=q["bias_options"]["filters"], bias_n_dil_layers=q["bias_options"]["n_dil_layers"],
        bias_epochs=bias_epochs, filters=q["main_options"]["filters"], n_dil_layers=q["main_options"]["n_dil_layers"],
        epochs=epochs, batch_size=q["batch_size"])


def run(args) -> int:
    """Run ``dream-keras quickstart``; returns the exit status."""
    if getattr(args, "synthetic", False):
        from dream_keras.cli import quickstart_synthetic

        return quickstart_synthetic.run(args)
    from dream_keras.tasks.atac.bias_stage import format_bias_summary
    from dream_keras.tasks.atac.pipeline import run_pipeline
    from dream_keras.tasks.atac.train import format_fold_summary

    started = time.time()
    out = pathlib.Path(args.out).resolve()
    params = quickstart_parameters(args.epochs or QUICKSTART["main_epochs"],
                                   args.bias_epochs or QUICKSTART["bias_epochs"])
    print(f"dream-keras quickstart: bundled mouse ATAC-seq ({pathlib.Path(params.reads).name}, "
          f"{pathlib.Path(params.peaks).name}), fold 0 -> {out}\n", flush=True)
    result = run_pipeline(params, out, resume=args.resume, overwrite=args.overwrite)

    print("\n" + "=" * 78)
    if result.results.get("bias") is not None:
        print(format_bias_summary(result.results["bias"]))
        print()
    if result.results.get("chrombpnet"):
        print(format_fold_summary(result.results["chrombpnet"][0]))
    skipped = [name for name in result.records if name not in result.ran]
    if skipped:
        print(f"stages complete from an earlier start, skipped: {', '.join(skipped)}")
    print("=" * 78)
    print(f"quickstart finished in {(time.time() - started) / 60:.1f} min. Everything is in {out}:\n"
          f"  report/report.html    the whole run on one page: metrics, figures, bias checks explained, footprints\n"
          f"  bigwig/               the Tn5 insertion bigWig made from the bundled reads (signal.bw)\n"
          f"  nonpeaks/             the GC-matched background regions (nonpeaks.narrowPeak)\n"
          f"  bias/                 the bias model run (models/bias.keras, logs/, evaluation/)\n"
          f"  chrombpnet/           the main run (models/model.keras, model_nobias.keras, bias_scaled.keras;\n"
          f"                        logs/run.json, training_log.csv; evaluation/metrics.json, report.html, *.png)\n"
          f"  footprints/           Tn5 and TF motif footprints of the bias-free model (footprints.tsv, *.png)\n"
          + textwrap.fill(f"{_sizes_note(params)} Your data: see `dream-keras pipeline --help`.", 100))
    return 0


def _sizes_note(params) -> str:
    """The closing note on the quickstart's sizes against ChromBPNet's.

    The sizes are read from the registry and the pipeline's defaults, not written again here.
    """
    from dream_keras.registry import get_backbone
    from dream_keras.tasks.atac.pipeline.parameters import PIPELINE_DEFAULTS

    bpnet = get_backbone("bpnet")
    bias, main = bpnet.bias_defaults, bpnet.defaults
    return (f"Sizes are small so that it runs on a laptop: {params.input_length:,} bp inputs with "
            f"+/-{params.max_jitter} bp jitter (the official windows), bias {params.bias_filters} filters / "
            f"{params.bias_n_dil_layers} layers, main model {params.filters} filters / {params.n_dil_layers} layers, "
            f"batch {params.batch_size} (ChromBPNet uses {bias['filters']}/{bias['n_dil_layers']}, "
            f"{main['filters']}/{main['n_dil_layers']} and batch {PIPELINE_DEFAULTS['batch_size']} on whole genomes).")
