r"""Side by side: the official ChromBPNet training against ``dream-keras bias train`` + ``dream-keras train``.

Both train on the same genome, bigWig, peaks, nonpeaks and fold, with the same model sizes, epochs,
patience, batch size, learning rate, jitter and negative ratio; then both are scored here on the same
test regions with the same metric code (``dream_keras.tasks.atac.evaluation.evaluate_model``: the official
``metrics.json`` quantities), and the bias-free models' marginal footprints of the planted motif and
of the Tn5 motifs are compared.

The official code (PyPI ``chrombpnet`` 1.0.1) runs in its own virtual environment
(``benchmarks/setup_official.sh``) through ``benchmarks/official_chrombpnet_run.py``, which calls its
hyperparameter finders and ``chrombpnet.training.train.main`` as ``chrombpnet bias pipeline`` and
``chrombpnet pipeline`` do. Its ``.h5`` models are read back with ``baselines.chrombpnet.load_official_h5``.

Usage:
    python benchmarks/vs_official_training.py --data synthetic \\
        --workdir bench_out/vs_official --official-seeds 1 2 3
    python benchmarks/vs_official_training.py --data mouse ...     (the bundled mm10 ATAC data)

Prints one row per model (official seed N, dream-keras): test counts Pearson and Spearman in peaks,
nonpeaks and both, median profile JSD in peaks, best epoch, epochs run, seconds per main-model epoch,
the sum of the epoch seconds Keras printed (bias + main), and wall seconds: for the official code its
training steps (hyperparameter finders + ``train.main``, data loading included), its evaluation steps
(``predict.main`` of both models on the test chromosomes and the Tn5 footprints of the bias-free
model, as its pipelines run them) and their total; for dream-keras the two commands, which train and
evaluate in one go (test metrics, bias QC footprints, figures, report); then the footprint gains. Writes the
same as ``results.json`` in the work folder. Quote ``/proc/loadavg`` with the times: the machine is
shared.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import time

from official_environment import DEFAULT_OFFICIAL_VENV, ROOT, official_python

#: Settings shared by both implementations, per data set (small towers so that a run ends in minutes).
SETTINGS = {
    "synthetic": {"input_length": 1024, "output_length": 512, "max_jitter": 128, "negative_ratio": 0.1,
                  "bias_filters": 16, "bias_layers": 4, "filters": 32, "layers": 5, "bias_epochs": 8, "epochs": 12,
                  "patience": 3, "batch_size": 64, "lr": 1e-3, "bias_threshold_factor": 0.5},
    "mouse": {"input_length": 2114, "output_length": 1000, "max_jitter": 500, "negative_ratio": 0.1,
              "bias_filters": 16, "bias_layers": 2, "filters": 32, "layers": 4, "bias_epochs": 10, "epochs": 15,
              "patience": 5, "batch_size": 16, "lr": 1e-3, "bias_threshold_factor": 0.5},
}
#: The synthetic data set (data_prep.make_synthetic_dataset).
SYNTHETIC = {"n_chroms": 6, "chrom_size": 2_500_000, "n_peaks": 5000, "planted_motif": "CTCF", "seed": 11}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def prepare_data(kind: str, folder: pathlib.Path, input_length: int) -> dict:
    """Genome, bigWig, peaks, nonpeaks (GC-matched, ratio 2) and fold JSON paths for ``kind``."""
    import data_prep

    folder.mkdir(parents=True, exist_ok=True)
    if kind == "synthetic":
        made = data_prep.make_synthetic_dataset(folder / "data", **{k: v for k, v in SYNTHETIC.items() if k != "seed"},
                                                seed=SYNTHETIC["seed"], progress=False) \
            if not (folder / "data" / "planted_sites.tsv").is_file() else None
        data = {"genome": folder / "data" / "genome.fa", "bigwig": folder / "data" / "tn5_insertions.bw",
                "peaks": folder / "data" / "peaks.narrowPeak", "fold": folder / "data" / "fold.json",
                "chrom_sizes": folder / "data" / "chrom.sizes", "planted_motif": SYNTHETIC["planted_motif"]}
        del made
    else:
        bundled = data_prep.bundled_atac_data()
        data = {"genome": bundled.genome, "bigwig": bundled.bigwig, "peaks": bundled.peaks,
                "fold": bundled.folds / "fold_0.json", "chrom_sizes": bundled.chrom_sizes, "planted_motif": None}
    nonpeaks = folder / f"nonpeaks_{input_length}.narrowPeak"
    if not nonpeaks.is_file():
        splits = data_prep.load_fold(data["fold"])
        regions = data_prep.make_nonpeaks(data["genome"], data["peaks"], data["chrom_sizes"], splits,
                                          input_length=input_length, stride=input_length // 2, ratio_trainvalid=2,
                                          ratio_test=2, seed=0)
        data_prep.write_narrowpeak(regions, nonpeaks)
    data["nonpeaks"] = nonpeaks
    return {key: str(value) if isinstance(value, pathlib.Path) else value for key, value in data.items()}


def run_official(data: dict, s: dict, seed: int, out: pathlib.Path, venv: str | None = None) -> dict:
    """Train and evaluate the official bias and main models (one seed) in ``out``; returns ``timing.json``.

    A folder trained before the evaluation was timed (no ``eval_*`` keys) gets only the evaluation.
    """
    timing_path = out / "timing.json"
    trained = timing_path.is_file()
    if not trained or "eval_main_predict_s" not in json.loads(timing_path.read_text()):
        out.mkdir(parents=True, exist_ok=True)
        command = [str(official_python(venv)), str(ROOT / "benchmarks" / "official_chrombpnet_run.py"),
                   "--genome", data["genome"], "--bigwig", data["bigwig"], "--peaks", data["peaks"],
                   "--nonpeaks", data["nonpeaks"], "--fold", data["fold"], "--out", str(out),
                   "--inputlen", str(s["input_length"]), "--outputlen", str(s["output_length"]),
                   "--bias-filters", str(s["bias_filters"]), "--bias-layers", str(s["bias_layers"]),
                   "--filters", str(s["filters"]), "--layers", str(s["layers"]), "--max-jitter", str(s["max_jitter"]),
                   "--negative-ratio", str(s["negative_ratio"]), "--epochs", str(s["epochs"]),
                   "--bias-epochs", str(s["bias_epochs"]), "--patience", str(s["patience"]),
                   "--batch-size", str(s["batch_size"]), "--lr", str(s["lr"]), "--seed", str(seed),
                   "--bias-threshold-factor", str(s["bias_threshold_factor"])] \
        + (["--evaluate-only"] if trained else [])
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("PYTHONPATH", None)
        _log(f"official ChromBPNet, seed {seed} -> {out}" + (" (evaluation only)" if trained else ""))
        with open(out / ("evaluate.log" if trained else "stdout.log"), "w") as log:
            subprocess.run(command, check=True, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=out)
    return json.loads(timing_path.read_text())


def run_dream_keras(data: dict, s: dict, seed: int, out: pathlib.Path) -> dict:
    """``dream-keras bias train`` then ``dream-keras train`` (one seed) in ``out``; returns timings."""
    timing_path = out / "timing.json"
    if timing_path.is_file():
        return json.loads(timing_path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    fold_dir = out / "folds"
    fold_dir.mkdir(exist_ok=True)
    (fold_dir / "fold_0.json").write_text(pathlib.Path(data["fold"]).read_text())
    shared = ["--genome", data["genome"], "--bigwig", data["bigwig"], "--peaks", data["peaks"], "--nonpeaks",
              data["nonpeaks"], "--fold-dir", str(fold_dir), "--fold", "0", "--input-length", str(s["input_length"]),
              "--output-length", str(s["output_length"]), "--patience", str(s["patience"]), "--batch-size",
              str(s["batch_size"]), "--lr", str(s["lr"]), "--seed", str(seed), "--overwrite"]
    cli = [sys.executable, "-m", "dream_keras.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    timing = {}
    with open(out / "stdout.log", "w") as log:
        _log(f"dream-keras bias train, seed {seed} -> {out / 'bias'}")
        began = time.time()
        subprocess.run([*cli, "bias", "train", *shared, "--out", str(out / "bias"), "--filters", str(s["bias_filters"]),
                        "--n-dil-layers", str(s["bias_layers"]), "--epochs", str(s["bias_epochs"]),
                        "--bias-threshold-factor", str(s["bias_threshold_factor"])],
                       check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
        timing["bias_s"] = time.time() - began
        _log(f"dream-keras train, seed {seed} -> {out / 'main'}")
        began = time.time()
        subprocess.run([*cli, "train", *shared, "--out", str(out / "main"), "--bias-model",
                        str(out / "bias" / "models" / "bias.keras"), "--filters", str(s["filters"]), "--n-dil-layers",
                        str(s["layers"]), "--epochs", str(s["epochs"]), "--max-jitter", str(s["max_jitter"]),
                        "--negative-ratio", str(s["negative_ratio"])],
                       check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
        timing["main_s"] = time.time() - began
    timing_path.write_text(json.dumps(timing))
    return timing


def test_windows(data: dict, s: dict):
    """Test peaks and nonpeaks as windows at the models' lengths (the same regions for both)."""
    import data_prep

    splits = data_prep.load_fold(data["fold"])
    windows = []
    for path in (data["peaks"], data["nonpeaks"]):
        regions = data_prep.read_regions(path)
        regions = regions[regions["chrom"].isin(splits["test"])]
        regions = regions[data_prep.edge_filter(regions, data_prep.read_chrom_sizes(data["chrom_sizes"]),
                                                s["input_length"])]
        windows.append(data_prep.extract_windows(regions, data["genome"], data["bigwig"], s["input_length"],
                                                 s["output_length"], progress=False))
    return windows


def score(model, nobias, windows, s: dict, planted: str | None) -> dict:
    """Test metrics of ``model`` and footprint gains of ``nobias`` (planted motif and Tn5 motifs)."""
    from dream_keras.tasks.atac.evaluation import evaluate_model

    peaks, nonpeaks = windows
    metrics = evaluate_model(model, peaks, nonpeaks, batch_size=128, progress=False).summary()
    row = {f"counts_{kind}_{subset}": metrics[subset][kind]
           for subset in ("peaks", "nonpeaks", "peaks_and_nonpeaks") for kind in ("pearsonr", "spearmanr")}
    row["median_jsd_peaks"] = metrics["peaks"]["median_jsd"]
    if planted:
        from dream_keras.cli.quickstart_synthetic import footprint_summary

        footprints = footprint_summary(nobias, nonpeaks.sequences[:64], planted, batch_size=64)
        row["footprint_planted_gain"] = footprints[planted]["count_gain"]
        row["footprint_tn5_max_gain"] = max(v["count_gain"] for k, v in footprints.items() if k != planted)
    return row


def epoch_seconds(log_path: pathlib.Path) -> int:
    """The sum of the per-epoch seconds Keras printed in a run's console log.

    The sum of the per-epoch seconds Keras printed (``57/57 ... - 14s ...``: whole seconds, training plus validation) in
    a run's console log, bias and main model together.
    """
    text = log_path.read_text(errors="replace").replace("\r", "\n")
    return sum(int(seconds) for _steps, seconds in re.findall(r"^\s*(\d+)/\1 (?:\[[=>.]*\] )?- (\d+)s", text, re.M))


def _epochs_and_best(csv_path: pathlib.Path) -> tuple[int, int]:
    import pandas as pd

    log = pd.read_csv(csv_path)
    return len(log), int(log["val_loss"].idxmin()) + 1


def main(argv=None) -> int:
    """Train the official ChromBPNet and dream-keras on the same inputs and print the comparison."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", choices=sorted(SETTINGS), default="synthetic")
    p.add_argument("--workdir", default="bench_out/vs_official_training")
    p.add_argument("--official-venv", help=f"the official chrombpnet's virtual environment (default "
                                           f"{DEFAULT_OFFICIAL_VENV}, where benchmarks/setup_official.sh puts it)")
    p.add_argument("--official-seeds", type=int, nargs="*", default=[1, 2, 3])
    p.add_argument("--dream-keras-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="override the main model's epochs (both)")
    p.add_argument("--bias-epochs", type=int, default=None, help="override the bias model's epochs (both)")
    args = p.parse_args(argv)
    s = dict(SETTINGS[args.data])
    s.update({k: v for k, v in (("epochs", args.epochs), ("bias_epochs", args.bias_epochs)) if v})
    if args.official_seeds:
        official_python(args.official_venv)  # stops before any work, saying how to make it, when it is missing
    work = pathlib.Path(args.workdir).resolve() / args.data
    sys.path.insert(0, str(ROOT))
    data = prepare_data(args.data, work, s["input_length"])
    _log(f"settings: {json.dumps(s)}; load {open('/proc/loadavg').read().split()[:3]}")

    from baselines.chrombpnet import load_official_h5
    from dream_keras.tasks.atac.prediction import load_profile_count_model

    windows = test_windows(data, s)
    rows = []
    for seed in args.official_seeds:
        out = work / f"official_seed{seed}"
        timing = run_official(data, s, seed, out, args.official_venv)
        model, nobias = load_official_h5(out / "chrombpnet.h5"), load_official_h5(out / "chrombpnet_nobias.h5")
        epochs, best = _epochs_and_best(out / "chrombpnet.log")
        train_s = sum(v for k, v in timing.items() if k.endswith("_s") and not k.startswith("eval_"))
        eval_s = sum(v for k, v in timing.items() if k.startswith("eval_"))
        # a run started with --bias-model (official_chrombpnet_run.py) trained the main model only
        label = f"official seed {seed}" + ("" if "bias_train_s" in timing else " (main model only)")
        rows.append({"model": label, **score(model, nobias, windows, s, data["planted_motif"]),
                     "best_epoch": best, "epochs": epochs, "s_per_epoch": timing["main_train_s"] / epochs,
                     "epoch_s_sum": epoch_seconds(out / "stdout.log"), "train_s": train_s, "eval_s": eval_s,
                     "total_s": train_s + eval_s})
    out = work / f"dream_keras_seed{args.dream_keras_seed}"
    timing = run_dream_keras(data, s, args.dream_keras_seed, out)
    model = load_profile_count_model(out / "main" / "models" / "model.keras")
    nobias = load_profile_count_model(out / "main" / "models" / "model_nobias.keras")
    epochs, best = _epochs_and_best(out / "main" / "logs" / "training_log.csv")
    rows.append({"model": f"dream-keras seed {args.dream_keras_seed}",
                 **score(model, nobias, windows, s, data["planted_motif"]), "best_epoch": best, "epochs": epochs,
                 "s_per_epoch": timing["main_s"] / epochs, "epoch_s_sum": epoch_seconds(out / "stdout.log"),
                 # the commands train and evaluate in one go: no separate training time
                 "train_s": None, "eval_s": None, "total_s": timing["bias_s"] + timing["main_s"]})

    import pandas as pd

    table = pd.DataFrame(rows).set_index("model")
    load = open("/proc/loadavg").read().split()[:3]
    print(f"\n{args.data}: {len(windows[0].sequences)} test peaks, {len(windows[1].sequences)} test nonpeaks; "
          f"load average now {' '.join(load)}")
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.3f}".format):
        print(table.T.to_string())
    (work / "results.json").write_text(json.dumps({"settings": s, "rows": rows, "load": load}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
