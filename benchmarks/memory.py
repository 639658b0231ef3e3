"""Benchmark.

Peak memory of ``dream-keras train`` (ATAC) on a large synthetic data set, with the windows held in memory and with
``--stream``.

The data set: data_prep's synthetic generator (24 hg38-named chromosomes, the bundled hg38 fold 0)
with 250,000 peaks by default, background regions at two per peak (uniform summits, as
``prep nonpeaks --ratio 2`` would give in number) and an untrained tiny bias model. Each
measurement runs in its own subprocess:

- ``load``: check the inputs, load the fold's data (:func:`load_main_model_data` or, streamed,
  :func:`load_main_model_streams`), build the training and validation datasets and draw
  ``--batches`` training batches and as many validation batches;
- ``train``: a real ``dream-keras train --epochs 1`` with a tiny model (rescaling the bias model on
  every kept nonpeak, one epoch, validation, test evaluation and figures).

Memory = peak resident set size (VmHWM of /proc/self/status) minus the resident size after the
imports (TensorFlow, Keras, matplotlib, SciPy, the packages), i.e. what the run allocates at its
worst, including what does not grow with the data (traced functions, the models, optimizer state). "Needed" =
the bytes of the windows a run uses: uint8 one-hot sequences and float32 counts of the kept
train+valid peaks at ``input_length + 2 x max_jitter`` / ``output_length + 2 x max_jitter``, of
the training nonpeaks and of the test peaks and nonpeaks at ``input_length`` / ``output_length``.

    python benchmarks/memory.py                          # 250,000 peaks, load, both ways
    python benchmarks/memory.py --what train             # the real command, both ways
    python benchmarks/memory.py --n-peaks 25000 --chrom-size 500000
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time

INPUT_LENGTH, OUTPUT_LENGTH, MAX_JITTER = 2114, 1000, 500
NONPEAKS_PER_PEAK = 2
BIAS_OPTIONS = {"filters": 4, "n_dil_layers": 1}
MODEL_FLAGS = ["--filters", "4", "--n-dil-layers", "1"]


def _status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _write_nonpeaks(data, seed: int) -> pathlib.Path:
    """Background regions: ``NONPEAKS_PER_PEAK`` per peak, uniform summits away from the N-runs at the ends."""
    import numpy as np
    import pandas as pd

    from data_prep.peaks import read_regions, write_narrowpeak

    sizes = dict(line.split("\t") for line in data.chrom_sizes.read_text().splitlines())
    sizes = {chrom: int(size) for chrom, size in sizes.items()}
    n = NONPEAKS_PER_PEAK * len(read_regions(data.peaks))
    rng = np.random.default_rng(seed)
    names = list(sizes)
    per_chrom = rng.multinomial(n, np.array([sizes[c] for c in names]) / sum(sizes.values()))
    frames = []
    for chrom, count in zip(names, per_chrom):
        margin = min(10_000, sizes[chrom] // 50) + 2_000
        summits = np.sort(rng.integers(margin, sizes[chrom] - margin, size=count))
        frames.append(pd.DataFrame({"chrom": chrom, "start": summits - 250, "end": summits + 250, "summit": summits}))
    return write_narrowpeak(pd.concat(frames, ignore_index=True), data.peaks.parent / "nonpeaks.narrowPeak")


def make_data(workdir: pathlib.Path, n_peaks: int, chrom_size: int) -> dict:
    """Generate (or reuse) the data set; returns its paths and the generation time."""
    from data_prep.synthetic import make_synthetic_dataset

    folder = workdir / f"synthetic_{n_peaks}_{chrom_size}"
    record = folder / "benchmark_data.json"
    if record.is_file():
        return json.loads(record.read_text())
    started = time.perf_counter()
    data = make_synthetic_dataset(folder, chrom_size=chrom_size, n_peaks=n_peaks, seed=0)
    generated = time.perf_counter() - started
    nonpeaks = _write_nonpeaks(data, seed=1)
    from bias_models.bias_data import build_bias_model

    bias = folder / "bias.keras"
    build_bias_model(INPUT_LENGTH, OUTPUT_LENGTH, **BIAS_OPTIONS).save(bias)
    info = {"genome": str(data.genome), "bigwig": str(data.bigwig), "peaks": str(data.peaks),
            "nonpeaks": str(nonpeaks), "fold": str(data.fold), "bias_model": str(bias),
            "generation_seconds": round(generated, 1), "total_seconds": round(time.perf_counter() - started, 1),
            "genome_bp": 24 * chrom_size, "n_peaks": n_peaks}
    record.write_text(json.dumps(info, indent=1))
    return info


def _needed_bytes(report: dict) -> int:
    peaks, nonpeaks = report["peaks"]["kept"], report["nonpeaks"]["kept"]
    jittered = (INPUT_LENGTH + 2 * MAX_JITTER) * 4 + (OUTPUT_LENGTH + 2 * MAX_JITTER) * 4
    centred = INPUT_LENGTH * 4 + OUTPUT_LENGTH * 4
    held = (peaks.get("train", 0) + peaks.get("valid", 0)) * jittered
    held += (nonpeaks.get("train", 0) + nonpeaks.get("valid", 0) + peaks.get("test", 0) + nonpeaks.get("test", 0)) \
        * centred
    return held


def child_load(info: dict, stream: bool, n_batches: int) -> dict:
    """Child process: load the windows and draw batches; returns the memory figures."""
    import itertools

    import keras  # noqa: F401
    import tensorflow as tf  # noqa: F401

    import bias_models  # noqa: F401  (the imports a training run makes, before the baseline)
    import data_prep
    from data_prep.atac.data import load_main_model_data
    from data_prep.atac.inputs import check_atac_inputs, resolve_folds
    from data_prep.atac.streams import load_main_model_streams, streamed_datasets
    from dream_keras.tasks.atac.train import AtacTrainParameters

    baseline = _status_kib("VmRSS")
    started = time.perf_counter()
    (fold,) = resolve_folds(info["fold"])
    inputs = check_atac_inputs(genome=info["genome"], bigwig=info["bigwig"], peaks=info["peaks"],
                               nonpeaks=info["nonpeaks"], fold=fold)
    options = dict(input_length=INPUT_LENGTH, output_length=OUTPUT_LENGTH, max_jitter=MAX_JITTER, negative_ratio=0.1,
                   outlier_quantile=0.9999, seed=0, progress=False)
    if stream:
        data = load_main_model_streams(inputs, **options)
        params = AtacTrainParameters(genome=info["genome"], bigwig=info["bigwig"], peaks=info["peaks"],
                                     nonpeaks=info["nonpeaks"], bias_model=info["bias_model"], fold=info["fold"],
                                     stream=True)
        train_data, valid = streamed_datasets(data, params, params.batch_size)  # one replica
        train = train_data(0)
    else:
        data = load_main_model_data(inputs, **options)
        common = dict(input_length=INPUT_LENGTH, output_length=OUTPUT_LENGTH, max_jitter=MAX_JITTER, seed=0)
        train = data_prep.training_dataset(data.train_peaks, data.train_nonpeaks, **common)
        valid = data_prep.validation_dataset(data.valid_peaks, data.valid_nonpeaks, **common)
    loaded = time.perf_counter()
    checksum = 0.0
    for _, y in itertools.chain(itertools.islice(train, n_batches), itertools.islice(valid, n_batches)):
        checksum += float(y["logcounts"].numpy().sum())
    drawn = time.perf_counter()
    return {"baseline_kib": baseline, "peak_kib": _status_kib("VmHWM"), "report": data.report,
            "load_seconds": round(loaded - started, 1),
            "batches_per_second": round(2 * n_batches / (drawn - loaded), 1),
            "checksum": checksum}


def child_train(info: dict, stream: bool, out: pathlib.Path) -> dict:
    """Child process: a real one-epoch ``train``; returns the memory figures."""
    import keras  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import scipy.spatial.distance  # noqa: F401
    import scipy.stats  # noqa: F401
    import tensorflow as tf  # noqa: F401

    import bias_models  # noqa: F401  (the modules the run imports, before the baseline)
    import dream_keras.tasks.atac.evaluation  # noqa: F401
    import dream_keras.tasks.atac.train  # noqa: F401
    from dream_keras.cli import main

    baseline = _status_kib("VmRSS")
    started = time.perf_counter()
    code = main(["train", "--genome", info["genome"], "--bigwig", info["bigwig"], "--peaks", info["peaks"],
                 "--nonpeaks", info["nonpeaks"], "--fold", info["fold"], "--bias-model", info["bias_model"],
                 "--out", str(out), "--overwrite", "--epochs", "1", *MODEL_FLAGS, *(["--stream"] if stream else [])])
    report = json.loads((out / "logs" / "run.json").read_text())["data"]
    return {"baseline_kib": baseline, "peak_kib": _status_kib("VmHWM"), "report": report, "exit_code": code,
            "seconds": round(time.perf_counter() - started, 1)}


def run_child(what: str, method: str, info: dict, args) -> dict:
    """Run one measurement in a child process and return its figures."""
    command = [sys.executable, __file__, "--child", what, method, "--workdir", str(args.workdir),
               "--n-peaks", str(args.n_peaks), "--chrom-size", str(args.chrom_size), "--batches", str(args.batches)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{what} {method} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    """Make the data set, measure each mode in a child process and print the rows."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-peaks", type=int, default=250_000)
    parser.add_argument("--chrom-size", type=int, default=2_000_000, help="length of each of the 24 chromosomes")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("/tmp/dream_keras_memory_benchmark"))
    parser.add_argument("--what", choices=("load", "train"), default="load")
    parser.add_argument("--methods", default="in_memory,stream")
    parser.add_argument("--batches", type=int, default=200, help="training and validation batches drawn (load)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = make_data(args.workdir, args.n_peaks, args.chrom_size)
    if args.child:
        what, method = args.child
        stream = method == "stream"
        if what == "load":
            result = child_load(info, stream, args.batches)
        else:
            result = child_train(info, stream, args.workdir / f"run_{method}")
        print(json.dumps(result))
        return

    print(f"data set: {info['n_peaks']:,} peaks on {info['genome_bp'] / 1e6:.0f} Mb, generated in "
          f"{info['generation_seconds']} s (with nonpeaks and bias model: {info['total_seconds']} s)")
    for method in args.methods.split(","):
        result = run_child(args.what, method, info, args)
        used = (result["peak_kib"] - result["baseline_kib"]) * 1024
        needed = _needed_bytes(result["report"])
        timing = {k: result[k] for k in ("load_seconds", "batches_per_second", "seconds") if k in result}
        print(json.dumps({"what": args.what, "method": method, "peak_rss_above_baseline_gb": round(used / 1e9, 3),
                          "needed_gb": round(needed / 1e9, 3), "ratio": round(used / needed, 3),
                          "baseline_rss_gb": round(result["baseline_kib"] * 1024 / 1e9, 3), **timing,
                          "kept": {"peaks": result["report"]["peaks"]["kept"],
                                   "nonpeaks": result["report"]["nonpeaks"]["kept"]}}), flush=True)


if __name__ == "__main__":
    main()
