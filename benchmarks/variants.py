"""Benchmark: ``dream-keras variants`` beside the official variant scorer, SNVs per second, on the same CPU.

    python benchmarks/variants.py --official-python .official-venv/bin/python \
        --official-source .official-variant-scorer            # the full run (lead: on a quiet machine)
    python benchmarks/variants.py --quick ...                  # a few minutes

For each BPNet tower (``--towers``; 512/8 is ChromBPNet's, 128/4 its bias model's, 32/8 the small
official test model), an official-format ``.h5`` is built by the official ChromBPNet code (its
``getModelGivenModelOptionsAndWeightInits``, seeded random weights) in the official environment, and
imported into dream-keras (``baselines.chrombpnet.load_official_h5``), so both score the same weights.
Two SNV sets on the bundled mouse genome (five 200 kb chromosomes), written as ``chrombpnet``
lists: *random*, ``--variants`` seeded random SNVs (default 100,000: one per 10 bp, so their windows
overlap and dream-keras computes shared reference activations once, :mod:`dream_keras.interpret.variants.snv_reuse`),
and *isolated*, SNVs 2,214 bp apart (about 450: no window overlaps another, the case of sparse
genome-wide sets, where only the alternate-allele saving applies); with ``--quick`` also *dense*,
2,000 SNVs one per 10 bp (as dense as the full run's random set).

Each tool scores the first ``n`` of them, both alleles and both strands (the official default):
``n`` is ``--variants``, or fewer when a probe of that tool's rate (64 SNVs) says the run would take
longer than ``--budget-seconds`` (BPNet 512/8 scores about one SNV per second per two CPU cores in float32,
so 100,000 take more than a day there); the table says how many were scored. dream-keras runs in
this process (``prepare_run`` + ``score_run``: model loading, checks, chunked scoring, tables;
TensorFlow's import excluded), the official scorer as a subprocess (its ``main()``: model loading,
scoring, tables; imports excluded; ``--no_hdf5``). Printed per tower: SNVs/s of each, the ratio, the
peak memory of the dream-keras process, and the time a million SNVs would take at that rate (a
measured extrapolation: chunked scoring runs at a steady rate; each tool's fixed cost, its time for
16 SNVs, is taken out of the rate, which matters for short runs). ``--num-shuffles K`` also times both
with K shuffled variants per variant (p-values) on ``n / (K + 1)`` variants, so the cost of the
shuffles is shown. Every line carries the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from official_variant_scorer import random_variants, run_official, spaced_snvs, write_chrom_sizes  # noqa: E402
from variants_vs_official import machine  # noqa: E402

GENOME = ROOT / "tests" / "data" / "atac_mm10" / "genome.fa"
INPUT_LENGTH, OUTPUT_LENGTH = 2114, 1000
SEED = 1234

BUILD_OFFICIAL = r'''
import argparse, sys
from chrombpnet.training.models.bpnet_model import getModelGivenModelOptionsAndWeightInits
filters, layers, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
args = argparse.Namespace(seed=1234, learning_rate=1e-3)
params = {"filters": filters, "n_dil_layers": layers, "counts_loss_weight": 10.0, "inputlen": 2114, "outputlen": 1000}
getModelGivenModelOptionsAndWeightInits(args, params).save(path, include_optimizer=False)
'''


def load() -> str:
    """The 1-minute load average, as ``/proc/loadavg`` writes it.

    Returns:
        The load average's text.
    """
    return open("/proc/loadavg").read().split()[0]


def build_models(tower: str, work: pathlib.Path, official_python: str | None) -> tuple[str | None, str]:
    """``(official .h5 or None, .keras)`` of one tower with the same weights."""
    filters, layers = (int(v) for v in tower.split("/"))
    keras_path = work / f"bpnet_{filters}_{layers}.keras"
    if official_python:
        h5 = work / f"bpnet_{filters}_{layers}.h5"
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
        env.pop("PYTHONPATH", None)
        done = subprocess.run([official_python, "-c", BUILD_OFFICIAL, str(filters), str(layers), str(h5)],
                              capture_output=True, text=True, env=env)
        if done.returncode:
            raise SystemExit(f"building the official {tower} model failed:\n{done.stderr[-3000:]}")
        from baselines.chrombpnet import load_official_h5

        load_official_h5(h5).save(keras_path)
        return str(h5), str(keras_path)
    import keras

    from dream_keras import build_model

    keras.utils.set_random_seed(SEED)
    build_model("bpnet", input_length=INPUT_LENGTH, output_length=OUTPUT_LENGTH, filters=filters,
                n_dil_layers=layers).save(keras_path)
    return None, str(keras_path)


def score_ours(model: str, variants: str, out: pathlib.Path, num_shuffles: int = 0, batch_size: int | None = None,
               chunk_size: int | None = None) -> float:
    """Seconds of ``prepare_run`` + ``score_run`` in this process.

    ``allow_bias_model``: the official BPNet builder names its layers as the bias model's, which ``variants``
    refuses by default.
    """
    from dream_keras.interpret.variants import VariantScoringParameters, prepare_run, score_run

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    options = {k: v for k, v in (("batch_size", batch_size), ("chunk_size", chunk_size)) if v}
    params = VariantScoringParameters(models=[model], genome=str(GENOME), variants=variants, out=str(out),
                                      schema="chrombpnet", num_shuffles=num_shuffles, seed=SEED,
                                      allow_bias_model=True, progress=sys.stderr.isatty(), **options)
    started = time.perf_counter()
    score_run(prepare_run(params, say=lambda text: None), out, say=lambda text: None)
    return time.perf_counter() - started


FIXED_COST_SNVS = 16


def measure(label: str, snvs, n_wanted: int, h5, keras_model: str, work: pathlib.Path, chrom_sizes, args,
            official_python) -> dict:
    """Both tools on the first ``n`` of ``snvs`` (``n`` capped by the probe and the budget); prints two lines.

    Each tool also scores the first ``FIXED_COST_SNVS`` alone: its time is the run's fixed cost (model
    loading, tracing, starting up), and ``(n - 16) / (t_n - t_16)`` the steady rate of a long run.
    """
    small = _first(snvs, FIXED_COST_SNVS, work)
    probe = _first(snvs, 64, work)
    probe_rate = 64 / score_ours(keras_model, str(probe), work / "probe", batch_size=args.batch_size)
    n = int(min(n_wanted, len(snvs), max(64, probe_rate * args.budget_seconds)))
    listed = _first(snvs, n, work)
    row = {"set": label, "n": n}
    row["ours_fixed_s"] = score_ours(keras_model, str(small), work / "ours", batch_size=args.batch_size)
    row["ours_s"] = score_ours(keras_model, str(listed), work / "ours", batch_size=args.batch_size)
    row["ours_load"] = load()
    row["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    ours_rate = n / row["ours_s"]
    ours_steady = (n - FIXED_COST_SNVS) / max(row["ours_s"] - row["ours_fixed_s"], 1e-9)
    line = (f"  {label:9s} {n:>7,} SNVs  dream-keras {ours_rate:7.2f} SNV/s, steady {ours_steady:7.2f} (fixed "
            f"{row['ours_fixed_s']:.0f} s; load {row['ours_load']}; peak RSS {row['peak_rss_gb']:.2f} GB)")
    if official_python:
        common = dict(genome=str(GENOME), model=h5, chrom_sizes=str(chrom_sizes),
                      out_prefix=str(work / "official_run"), seed=SEED)
        row["official_fixed_s"] = run_official(official_python, args.official_source, variants=str(small), **common)
        # the official scorer gets its own budget: at its rate, dream-keras's n could take many times longer
        probe_seconds = run_official(official_python, args.official_source, variants=str(probe), **common)
        official_probe_rate = (64 - FIXED_COST_SNVS) / max(probe_seconds - row["official_fixed_s"], 1e-9)
        n_official = int(min(n, max(64, official_probe_rate * args.budget_seconds)))
        row["official_n"] = n_official
        row["official_s"] = run_official(official_python, args.official_source,
                                         variants=str(_first(snvs, n_official, work)), **common)
        row["official_load"] = load()
        official_rate = n_official / row["official_s"]
        official_steady = (n_official - FIXED_COST_SNVS) / max(row["official_s"] - row["official_fixed_s"], 1e-9)
        line += (f"\n  {'':9s} {n_official:>7,} SNVs  official    {official_rate:7.2f} SNV/s, "
                 f"steady {official_steady:7.2f} "
                 f"(fixed {row['official_fixed_s']:.0f} s; load {row['official_load']})   ratio "
                 f"{ours_rate / official_rate:.2f}x, steady {ours_steady / official_steady:.2f}x")
    print(line, flush=True)
    print(f"  {'':9s} 1,000,000 such SNVs at the steady rate: dream-keras {1e6 / ours_steady / 3600:.2f} h"
          + (f", official {1e6 / official_steady / 3600:.2f} h" if official_python else "")
          + f" on this machine ({os.cpu_count()} CPUs)", flush=True)
    return row


def measure_shuffles(snvs, n: int, h5, keras_model: str, work: pathlib.Path, chrom_sizes, args, official_python,
                     plain_rate: float) -> dict:
    """Both tools with ``--num-shuffles K`` on ``n / (K + 1)`` variants; prints one line."""
    m = max(1, n // (args.num_shuffles + 1))
    listed = work / f"shuffled_{m}.tsv"
    snvs.iloc[:m].to_csv(listed, sep="\t", header=False, index=False)
    row = {"shuffle_n": m, "ours_shuffle_s": score_ours(keras_model, str(listed), work / "ours_shuffled",
                                                        num_shuffles=args.num_shuffles, batch_size=args.batch_size)}
    items = m * (1 + args.num_shuffles)
    text = (f"  --num-shuffles {args.num_shuffles} ({m:,} variants + {m * args.num_shuffles:,} shuffled): dream-keras "
            f"{row['ours_shuffle_s']:.1f} s, {row['ours_shuffle_s'] * plain_rate / m:.2f}x the time of the variants "
            f"alone (load {load()})")
    if official_python:
        for leftover in work.glob("official_shuffled*"):
            leftover.unlink()
        row["official_shuffle_s"] = run_official(official_python, args.official_source, variants=str(listed),
                                                 genome=str(GENOME), model=h5, chrom_sizes=str(chrom_sizes),
                                                 out_prefix=str(work / "official_shuffled"),
                                                 num_shuffles=args.num_shuffles, seed=SEED)
        text += (f"; official {row['official_shuffle_s']:.1f} s ({items / row['official_shuffle_s']:.2f} scored/s); "
                 f"ratio {row['official_shuffle_s'] / row['ours_shuffle_s']:.2f}x")
    print(text, flush=True)
    return row


def main(argv=None) -> int:
    """Time dream-keras and the official variant scorer on each tower and SNV set and print the figures.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official-python", default=".official-venv/bin/python")
    parser.add_argument("--official-source", default=".official-variant-scorer")
    parser.add_argument("--skip-official", action="store_true", help="time dream-keras only")
    parser.add_argument("--towers", default="512/8,128/4,32/8")
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--budget-seconds", type=float, default=3600, help="longest run per tool, tower and set")
    parser.add_argument("--num-shuffles", type=int, default=1, help="shuffled variants per variant for the "
                                                                    "p-value cost (0: skip)")
    parser.add_argument("--batch-size", type=int, default=None, help="dream-keras --batch-size (default: its own)")
    parser.add_argument("--quick", action="store_true", help="at most 2,000 variants, 120 s per run")
    parser.add_argument("--sets", default=None, help="comma-separated subset of random,isolated,dense")
    parser.add_argument("--work", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.variants, args.budget_seconds = min(args.variants, 2000), min(args.budget_seconds, 120)
    official_python = None if args.skip_official else args.official_python
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="variants-benchmark-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}", flush=True)
    sets = {"random": random_variants(GENOME, args.variants, input_length=INPUT_LENGTH, seed=0),
            "isolated": spaced_snvs(GENOME, INPUT_LENGTH + 100, input_length=INPUT_LENGTH, seed=0)}
    if args.quick:  # the full run's random set is this dense already
        sets["dense"] = random_variants(GENOME, args.variants, input_length=INPUT_LENGTH, seed=1,
                                        span=10 * args.variants)
    print(f"SNV sets on {GENOME.name} (5 x 200 kb): random = {args.variants:,} seeded random SNVs (1 per "
          f"{1_000_000 // args.variants:,} bp: windows overlap, so dream-keras shares reference activations); "
          f"isolated = "
          f"{len(sets['isolated'])} SNVs {INPUT_LENGTH + 100:,} bp apart (no window overlaps another)"
          + (f"; dense = {args.variants:,} SNVs 1 per 10 bp" if "dense" in sets else "") + ". BPNet "
          f"{INPUT_LENGTH} -> {OUTPUT_LENGTH} bp, float32, both alleles x both strands; work folder {work}", flush=True)
    if args.sets:
        sets = {name: sets[name] for name in args.sets.split(",")}
    chrom_sizes = write_chrom_sizes(GENOME, work / "chrom.sizes")
    results = []
    for tower in args.towers.split(","):
        h5, keras_model = build_models(tower, work, official_python)
        print(f"BPNet {tower}:", flush=True)
        # warm-up (file caches, the first TensorFlow kernels)
        score_ours(keras_model, str(_first(next(iter(sets.values())), 64, work)), work / "probe",
                   batch_size=args.batch_size)
        for label, snvs in sets.items():
            row = measure(label, snvs, args.variants, h5, keras_model, work, chrom_sizes, args, official_python)
            results.append({"tower": tower, **row})
        if args.num_shuffles and "random" in sets:
            first = next(row for row in results if row["tower"] == tower and row["set"] == "random")
            first.update(measure_shuffles(sets["random"], first["n"], h5, keras_model, work, chrom_sizes, args,
                                                official_python, first["n"] / first["ours_s"]))
    print(json.dumps(results))
    return 0


def _first(snvs, n: int, work: pathlib.Path) -> pathlib.Path:
    path = work / f"first_{n}_{snvs['variant_id'].iloc[0]}.tsv"
    snvs.iloc[:n].to_csv(path, sep="\t", header=False, index=False)
    return path


if __name__ == "__main__":
    sys.exit(main())
