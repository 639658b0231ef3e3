"""Side by side: the official variant scorer and ``dream-keras variants`` on the same model, variants and shuffles.

One command:

    python benchmarks/variants_vs_official.py --official-python .official-venv/bin/python \
        --official-source .official-variant-scorer

(``bash benchmarks/setup_official_variant_scorer.sh`` makes both). The model is the official small
ChromBPNet ``chrombpnet_nobias.h5`` (32 filters, 8 dilated layers, 2,114 -> 1,000 bp, random non-zero
weights; ``tests/data/chrombpnet_ref``) with its two output layers scaled in the file (log-count
Dense kernel x300 and bias +22, profile convolution x10): with the random weights as they are, every
window's prediction lies within 0.1 % of every other's, so float32 rounding (1e-7) would decide the
ranks behind quantiles and p-values; scaled, predictions spread as a trained model's do
(log-counts about 3 +- 1.2). The official scorer loads the file as it is; dream-keras imports it
(``baselines.chrombpnet.load_official_h5``, as ``dream-keras import-chrombpnet``). The genome
and peaks are the bundled mouse ATAC data (five 200 kb pieces of chr17); the variants are seeded
random SNVs, deletions and insertions with the FASTA's reference alleles, plus three whose window
leaves the chromosome (the official scorer drops them silently; dream-keras runs with
``--skip-bad``, which skips and counts them). Both run with the peaks and ``--num-shuffles``
shuffled variants per variant, seed 1234.

Compared: every column the two variant tables share (joined on ``variant_id``), the shuffled
variants' scores (joined on their shuffle seed, which is a permutation) and the peak scores.
A score column passes when ``|ours - official| <= 1e-4 |official| + atol`` (``1e-3`` for the JSD
columns); ``atol`` (default 1e-6) is the float32 resolution of the official code, which computes in
float32 (a log2 ratio of two float32 counts near 1 is exact only to about 2e-7). p-values are
ranks among the shuffled scores: reported as the share that is identical and the largest difference.
Prints one line per column, the number of variants compared and the machine.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from official_variant_scorer import random_variants, run_official, write_chrom_sizes  # noqa: E402

DATA = ROOT / "tests" / "data"
MODEL_H5 = DATA / "chrombpnet_ref" / "small_chrombpnet_nobias.h5"
GENOME = DATA / "atac_mm10" / "genome.fa"
PEAKS = DATA / "atac_mm10" / "peaks.narrowPeak"
SEED = 1234


def machine() -> str:
    """The machine in words: CPU model, CPU count and load average.

    Returns:
        The description.
    """
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    return f"{model}, {os.cpu_count()} CPUs, load average {open('/proc/loadavg').read().split()[0]}"


def spread_model(source: pathlib.Path, target: pathlib.Path) -> pathlib.Path:
    """A copy of the official ``.h5`` with its output layers scaled (module docstring)."""
    import shutil

    import h5py

    shutil.copy(source, target)
    with h5py.File(target, "r+") as handle:
        weights = handle["model_weights"]
        counts = weights["wo_bias_bpnet_logcount_predictions/wo_bias_bpnet_logcount_predictions"]
        counts["kernel:0"][...] = counts["kernel:0"][:] * 300
        counts["bias:0"][...] = counts["bias:0"][:] + 22
        profile = weights["wo_bias_bpnet_prof_out_precrop/wo_bias_bpnet_prof_out_precrop"]
        profile["kernel:0"][...] = profile["kernel:0"][:] * 10
    return target


def compare(ours: pd.DataFrame, official: pd.DataFrame, key: str, atol: float,
            n_null: int = 0) -> tuple[list[str], bool, int]:
    """Lines comparing every shared numeric column of two tables joined on ``key``; all passed?

    p-values (``n_null`` shuffled scores) are compared in ranks: ``|difference| x (n_null + 1)``.
    """
    merged = official.merge(ours, on=key, suffixes=("_official", "_ours"))
    lines, passed = [], True
    shared = [c for c in official.columns if c != key and c in ours.columns
              and pd.api.types.is_numeric_dtype(official[c]) and c not in ("model", "random_seed")]
    for column in shared:
        a = merged[f"{column}_ours"].to_numpy(np.float64)
        b = merged[f"{column}_official"].to_numpy(np.float64)
        if column.endswith("pval"):
            ranks = np.rint(np.abs(a - b) * (n_null + 1)).astype(int)
            lines.append(f"  {column:45s} same rank {np.mean(ranks == 0):7.2%} of {len(a)}; others differ by at most "
                         f"{ranks.max()} rank(s) of {n_null + 1} (max |diff| {np.max(np.abs(a - b)):.1e})")
            continue
        rtol = 1e-3 if "jsd" in column else 1e-4
        ok = np.abs(a - b) <= rtol * np.abs(b) + atol
        relative = np.abs(a - b) / np.maximum(np.abs(b), 1e-12)
        large = np.abs(b) > 1e-2
        passed &= bool(ok.all())
        lines.append(f"  {column:45s} {'ok  ' if ok.all() else 'FAIL'} rtol {rtol:g}: max rel diff "
                     f"{relative[large].max() if large.any() else 0:.2e} (|official| > 0.01), max abs diff "
                     f"{np.max(np.abs(a - b)):.2e}")
    return lines, passed, len(merged)


def _peak_key(table: pd.DataFrame) -> pd.DataFrame:
    """Peaks keyed by region and summit (a narrowPeak region can have several summits)."""
    return table.assign(peak=table["peak_id"] + "@" + table["summit"].astype(str))


def main(argv=None) -> int:
    """Score the same variants with the official scorer and dream-keras and compare their shared columns.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 when every shared column is equal within ``--atol``, else 1.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official-python", default=".official-venv/bin/python")
    parser.add_argument("--official-source", default=".official-variant-scorer")
    parser.add_argument("--snvs", type=int, default=300)
    parser.add_argument("--indels", type=int, default=40, help="deletions and as many insertions")
    parser.add_argument("--num-shuffles", type=int, default=3)
    parser.add_argument("--atol", type=float, default=1e-6)
    parser.add_argument("--work", default=None,
                        help="folder for the inputs and both outputs (default: a temporary one)")
    args = parser.parse_args(argv)

    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="variants-vs-official-"))
    work.mkdir(parents=True, exist_ok=True)
    variants = random_variants(GENOME, args.snvs, n_deletions=args.indels, n_insertions=args.indels, seed=0)
    ends = pd.DataFrame({"chr": ["chr17_seg1", "chr17_seg2", "chr17_seg3"], "pos": [500, 199_600, 1_000],
                         "allele1": ["A", "C", "G"], "allele2": ["G", "T", "A"],
                         "variant_id": ["end_1", "end_2", "end_3"]})
    import pyfaidx

    with pyfaidx.Fasta(str(GENOME), as_raw=True, sequence_always_upper=True) as fasta:
        ends["allele1"] = [fasta[c][p - 1] for c, p in zip(ends["chr"], ends["pos"])]
    variants = pd.concat([variants, ends], ignore_index=True)
    variants_path = work / "variants.chrombpnet.tsv"
    variants.to_csv(variants_path, sep="\t", header=False, index=False)
    chrom_sizes = write_chrom_sizes(GENOME, work / "chrom.sizes")

    model_h5 = spread_model(MODEL_H5, work / "chrombpnet_nobias.spread.h5")
    official_out = work / "official"
    official_out.mkdir(exist_ok=True)
    official_seconds = run_official(args.official_python, args.official_source, variants=str(variants_path),
                                    genome=str(GENOME), model=str(model_h5), chrom_sizes=str(chrom_sizes),
                                    out_prefix=str(official_out / "run"), peaks=str(PEAKS),
                                    num_shuffles=args.num_shuffles, seed=SEED)

    from baselines.chrombpnet import load_official_h5
    from dream_keras.interpret.variants import VariantScoringParameters, prepare_run, score_run

    model_path = work / "chrombpnet_nobias.spread.keras"
    load_official_h5(model_h5).save(model_path)
    ours_out = work / "dream_keras"
    params = VariantScoringParameters(models=[str(model_path)], genome=str(GENOME), variants=str(variants_path),
                                      out=str(ours_out), schema="chrombpnet", peaks=str(PEAKS),
                                      num_shuffles=args.num_shuffles, seed=SEED, skip_bad=True, progress=False)
    started = time.perf_counter()
    ours_out.mkdir(parents=True, exist_ok=True)
    score_run(prepare_run(params, say=lambda text: None), ours_out, say=lambda text: None)
    ours_seconds = time.perf_counter() - started

    official = pd.read_csv(official_out / "run.variant_scores.tsv", sep="\t")
    ours = pd.read_csv(ours_out / "variant_scores.tsv", sep="\t")
    skipped = pd.read_csv(ours_out / "skipped_variants.tsv", sep="\t")
    print(f"machine: {machine()}")
    print(f"model {MODEL_H5.name} (output layers scaled); {len(variants)} variants given ({args.snvs} SNVs, "
          f"{args.indels} deletions, "
          f"{args.indels} insertions, 3 with a window off the chromosome end); {args.num_shuffles} shuffles each")
    print(f"official kept {len(official)}; dream-keras scored {len(ours)} and skipped {len(skipped)} "
          f"({', '.join(sorted(set(skipped['reason'])))}); same variants: "
          f"{sorted(official['variant_id']) == sorted(ours['variant_id'])}")
    all_passed = sorted(official["variant_id"]) == sorted(ours["variant_id"])
    for title, ours_table, official_table, key in (
            ("variant scores", ours, official, "variant_id"),
            ("shuffled variants' scores", pd.read_csv(ours_out / "shuffled_scores.tsv", sep="\t"),
             pd.read_csv(official_out / "run.variant_scores.shuffled.tsv", sep="\t"), "random_seed"),
            ("peak scores", _peak_key(pd.read_csv(ours_out / "peak_scores.tsv", sep="\t")),
             _peak_key(pd.read_csv(official_out / "run.peak_scores.tsv", sep="\t")), "peak")):
        n_null = len(pd.read_csv(official_out / "run.variant_scores.shuffled.tsv", sep="\t"))
        lines, passed, compared = compare(ours_table, official_table, key, args.atol, n_null)
        all_passed &= passed
        print(f"{title}: {compared} rows compared")
        print("\n".join(lines))
    print(f"seconds (main() / prepare+score, model loading included): official {official_seconds:.1f}, "
          f"dream-keras {ours_seconds:.1f}")
    print("ALL SHARED COLUMNS EQUAL WITHIN TOLERANCE" if all_passed else "SOME COLUMNS DIFFER")
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
