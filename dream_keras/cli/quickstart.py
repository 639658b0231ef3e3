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
import shutil
import time

from dream_keras.cli.run_arguments import help_text

#: What the quickstart writes in its folder (``--overwrite`` deletes only a folder holding nothing else).
QUICKSTART_ENTRIES = ("nonpeaks.narrowPeak", "bias", "chrombpnet")
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
    p.add_argument("--epochs", type=int, default=None,
                   help=f"most epochs of the main model (default {QUICKSTART['main_epochs']}; 20 with --synthetic)")
    p.add_argument("--bias-epochs", type=int, default=None,
                   help=f"most epochs of the bias model (default {QUICKSTART['bias_epochs']}; 4 with --synthetic)")
    p.add_argument("--synthetic", action="store_true",
                   help="a larger demonstration on generated data a model can learn: peak heights follow planted "
                        "CTCF sites, insertions carry a Tn5 bias (longer: 4,000 peaks, 20 epochs; see "
                        "dream_keras/cli/quickstart_synthetic.py)")
    p.set_defaults(func=run)


def prepare_folder(out: pathlib.Path, overwrite: bool) -> None:
    """Refuse a non-empty folder unless ``overwrite`` and it holds only what a quickstart writes."""
    from data_prep.errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; choose another --out")
    existing = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if not existing:
        out.mkdir(parents=True, exist_ok=True)
        return
    if not overwrite:
        raise InputError(f"output folder {out} is not empty (it holds {', '.join(existing[:5])}); pass --overwrite "
                         "to replace an earlier quickstart, or choose another --out")
    foreign = [name for name in existing if name not in QUICKSTART_ENTRIES]
    if foreign:
        raise InputError(f"--overwrite refused: {out} holds files the quickstart did not write "
                         f"({', '.join(foreign[:5])}); choose another --out")
    for name in existing:
        target = out / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()


def run(args) -> int:
    if getattr(args, "synthetic", False):
        from dream_keras.cli import quickstart_synthetic

        return quickstart_synthetic.run(args)
    from data_prep import bundled_atac_data, make_nonpeaks, write_narrowpeak
    from dream_keras.training.atac import AtacTrainParameters, format_fold_summary, train_fold
    from dream_keras.training.atac_inputs import resolve_folds
    from dream_keras.training.bias_stage import BiasTrainParameters, format_bias_summary, train_bias

    started = time.time()
    out = pathlib.Path(args.out).resolve()
    prepare_folder(out, args.overwrite)
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
    bias_params = BiasTrainParameters(**common, model_options=dict(q["bias_options"]),
                                      epochs=args.bias_epochs or q["bias_epochs"])
    bias = train_bias(bias_params, fold, out / "bias")
    print("\n[3/3] bias-factorised BPNet (dream-keras train)", flush=True)
    main_params = AtacTrainParameters(**common, bias_model=str(bias.model_path), max_jitter=q["max_jitter"],
                                      model_options=dict(q["main_options"]), epochs=args.epochs or q["main_epochs"])
    main = train_fold(main_params, fold, out / "chrombpnet")

    print("\n" + "=" * 78)
    print(format_bias_summary(bias))
    print()
    print(format_fold_summary(main))
    print("=" * 78)
    print(f"quickstart finished in {(time.time() - started) / 60:.1f} min. Everything is in {out}:\n"
          f"  nonpeaks.narrowPeak   the GC-matched background regions\n"
          f"  bias/                 the bias model run (models/bias.keras, logs/, evaluation/)\n"
          f"  chrombpnet/           the main run (models/model.keras, model_nobias.keras, bias_scaled.keras;\n"
          f"                        logs/run.json, training_log.csv; evaluation/metrics.json and *.png)\n"
          f"Sizes are small so that it runs on a laptop: 2,114 bp inputs with +/-500 bp jitter (the official\n"
          f"windows), bias 16 filters / 2 layers, main model 32 filters / 4 layers, batch 16 (ChromBPNet uses\n"
          f"128/4, 512/8 and batch 64 on whole genomes). Train on your data: see `dream-keras train --help`.")
    return 0
