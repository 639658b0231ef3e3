"""``dream-keras quickstart``: the whole ATAC chain for fold 0 on the real data bundled with the package.

Mouse ATAC-seq (mm10 chr17:64-65 Mb as five 200 kb pseudo-chromosomes, 87 peaks; see
``data_prep/data/atac_mm10/PROVENANCE.txt``): GC-matched nonpeaks (``prep nonpeaks``), a bias model
(``bias train``), a bias-factorised BPNet (``train``), its evaluation on the test chromosome and
the figures, then the metrics and where everything is. Windows are the official 2,114 bp input and
1,000 bp output with +/-500 bp jitter; the models are small (bias: 16 filters / 2 dilated layers;
main model: 32 filters / 4 dilated layers) and train with batch 16 (the data hold ~50 training
peaks), so the chain runs in a few minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import pathlib
import time

from dream_keras.cli.run_arguments import help_text

#: The quickstart's sizes (see the module docstring).
QUICKSTART = {"input_length": 2114, "output_length": 1000, "max_jitter": 500, "nonpeak_ratio": 4,
              "bias_options": {"filters": 16, "n_dil_layers": 2}, "bias_epochs": 15,
              "main_options": {"filters": 32, "n_dil_layers": 4}, "main_epochs": 25, "patience": 5,
              "batch_size": 16, "seed": 0}


def add_parser(sub) -> None:
    p = sub.add_parser("quickstart", help="run the whole chain on bundled real data (fold 0)",
                       description=help_text(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="quickstart_out", help="output folder (default: quickstart_out)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier quickstart folder")
    p.add_argument("--epochs", type=int, default=QUICKSTART["main_epochs"],
                   help=f"most epochs of the main model (default {QUICKSTART['main_epochs']})")
    p.add_argument("--bias-epochs", type=int, default=QUICKSTART["bias_epochs"],
                   help=f"most epochs of the bias model (default {QUICKSTART['bias_epochs']})")
    p.set_defaults(func=run)


def prepare_folder(out: pathlib.Path) -> None:
    """Create ``out`` (a new folder, or the staging folder of an ``--overwrite``) and record its
    manifest, so that a later ``--overwrite`` deletes only what the quickstart wrote."""
    from data_prep.errors import InputError
    from dream_keras.training.manifest import start_recording

    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; choose another --out")
    existing = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if existing:
        raise InputError(f"output folder {out} is not empty (it holds {', '.join(existing[:5])}); pass --overwrite "
                         "to replace an earlier quickstart, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    start_recording(out)


def run(args) -> int:
    from dream_keras.training.staging import relocated, staged_output

    started = time.time()
    final = pathlib.Path(args.out).resolve()
    # --overwrite builds the new quickstart beside the old one and swaps it in once finished
    with staged_output(final, overwrite=args.overwrite) as out:
        prepare_folder(out)
        summary = _run_in(args, out, started)
    print(relocated(summary, out, final))
    return 0


def _run_in(args, out: pathlib.Path, started: float) -> str:
    """The three steps into ``out``; returns the closing summary."""
    from data_prep import bundled_atac_data, make_nonpeaks, write_narrowpeak
    from dream_keras.training.atac import AtacTrainParameters, format_fold_summary, train_fold
    from dream_keras.training.atac_inputs import resolve_folds
    from dream_keras.training.bias_stage import BiasTrainParameters, format_bias_summary, train_bias

    data = bundled_atac_data()
    (fold,) = resolve_folds("0", data.folds)
    q = QUICKSTART
    print(f"dream-keras quickstart: bundled mouse ATAC-seq ({data.peaks.name}, {data.bigwig.name}), fold 0 "
          f"(test {', '.join(fold.splits['test'])}; valid {', '.join(fold.splits['valid'])}) -> {out}\n", flush=True)

    print("[1/3] GC-matched nonpeaks (dream-keras prep nonpeaks)", flush=True)
    nonpeaks_path = out / "nonpeaks.narrowPeak"
    nonpeaks = make_nonpeaks(data.genome, data.peaks, data.chrom_sizes, fold.splits, input_length=q["input_length"],
                             stride=q["input_length"] // 2, ratio_trainvalid=q["nonpeak_ratio"],
                             ratio_test=q["nonpeak_ratio"], seed=q["seed"])
    write_narrowpeak(nonpeaks, nonpeaks_path)
    print(f"      {len(nonpeaks)} nonpeaks -> {nonpeaks_path}\n", flush=True)

    common = {"genome": str(data.genome), "bigwig": str(data.bigwig), "peaks": str(data.peaks),
              "nonpeaks": str(nonpeaks_path), "fold": "0", "fold_dir": str(data.folds),
              "input_length": q["input_length"], "output_length": q["output_length"], "patience": q["patience"],
              "batch_size": q["batch_size"], "seed": q["seed"]}
    print("[2/3] bias model (dream-keras bias train)", flush=True)
    bias_params = BiasTrainParameters(**common, model_options=dict(q["bias_options"]), epochs=args.bias_epochs)
    bias = train_bias(bias_params, fold, out / "bias")
    print("\n[3/3] bias-factorised BPNet (dream-keras train)", flush=True)
    main_params = AtacTrainParameters(**common, bias_model=str(bias.model_path), max_jitter=q["max_jitter"],
                                      model_options=dict(q["main_options"]), epochs=args.epochs)
    main = train_fold(main_params, fold, out / "chrombpnet")

    return "\n".join(["", "=" * 78, format_bias_summary(bias), "", format_fold_summary(main), "=" * 78,
                      f"quickstart finished in {(time.time() - started) / 60:.1f} min. Everything is in {out}:\n"
          f"  nonpeaks.narrowPeak   the GC-matched background regions\n"
          f"  bias/                 the bias model run (models/bias.keras, logs/, evaluation/)\n"
          f"  chrombpnet/           the main run (models/model.keras, model_nobias.keras, bias_scaled.keras;\n"
          f"                        logs/run.json, training_log.csv; evaluation/metrics.json and *.png)\n"
          f"Sizes are small so that it runs on a laptop: 2,114 bp inputs with +/-500 bp jitter (the official\n"
          f"windows), bias 16 filters / 2 layers, main model 32 filters / 4 layers, batch 16 (ChromBPNet uses\n"
          f"128/4, 512/8 and batch 64 on whole genomes). Train on your data: see `dream-keras train --help`."])
