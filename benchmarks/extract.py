"""Benchmark: ``data_prep.extract_windows`` against the official-style per-region loop.

Both read the same synthetic data set (24 hg38-named chromosomes, 50,000 peaks by default) into
3,114 bp one-hot sequences and 2,000 bp counts per peak (input 2,114 + 2 x 500 jitter, output
1,000 + 2 x 500). The per-region loop is the way the official ChromBPNet loads data: pandas
``iterrows``, one pyfaidx slice and one ``bw.values`` list per region, a string one-hot of all
sequences at the end, float64 counts.

Each method runs in its own subprocess. Memory = peak resident set size (VmHWM from
/proc/self/status) minus the resident size just before extraction starts (after imports, opening
the files and reading the peaks), i.e. everything extraction allocates and holds at its worst.

    python benchmarks/extract.py                 # full size (the data set is cached in --workdir)
    python benchmarks/extract.py --n-peaks 5000  # smaller
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import subprocess
import sys
import time

INPUT_LENGTH, OUTPUT_LENGTH, MAX_JITTER = 2114, 1000, 500


def _status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _digest(sequences, counts) -> str:
    """Fingerprint of the result (sequences as uint8, counts as float32) to check both methods agree."""
    import numpy as np

    digest = hashlib.sha256(np.ascontiguousarray(sequences, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(counts, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def _string_one_hot(seqs):
    """One-hot of equal-length strings the official way.

    One joined upper-case string, codes made contiguous with np.unique, then rows of an identity matrix (int8).
    """
    import numpy as np

    joined = ("".join(seqs) + "ACGT").upper()
    codes = np.frombuffer(joined.encode(), dtype=np.int8).copy()
    codes[~np.isin(codes, np.frombuffer(b"ACGT", dtype=np.int8))] = ord("N") + 10  # sorts after T
    _, index = np.unique(codes, return_inverse=True)
    return np.eye(5, 4, dtype=np.int8)[index[:-4]].reshape(len(seqs), len(seqs[0]), 4)


def run_loop(data: pathlib.Path):
    """Read the windows with a per-region loop (the baseline); returns its figures."""
    import numpy as np
    import pandas as pd
    import pyBigWig
    import pyfaidx

    genome = pyfaidx.Fasta(str(data / "genome.fa"))
    bigwig = pyBigWig.open(str(data / "tn5_insertions.bw"))
    peaks = pd.read_csv(data / "peaks.narrowPeak", sep="\t", header=None,
                        names=["chr", "start", "end", "n", "s", "st", "sig", "p", "q", "summit"])
    seq_width, count_width = INPUT_LENGTH + 2 * MAX_JITTER, OUTPUT_LENGTH + 2 * MAX_JITTER
    baseline = _status_kib("VmRSS")
    began = time.perf_counter()
    seqs, counts = [], []
    for _, row in peaks.iterrows():
        centre = row["start"] + row["summit"]
        seqs.append(str(genome[row["chr"]][centre - seq_width // 2:centre + seq_width // 2]))
        counts.append(np.nan_to_num(bigwig.values(row["chr"], centre - count_width // 2, centre + count_width // 2)))
    sequences = _string_one_hot(seqs)
    counts = np.array(counts)
    seconds = time.perf_counter() - began
    return len(peaks), seconds, baseline, sequences, counts


def run_extract(data: pathlib.Path):
    """Read the windows with ``data_prep.extract_windows``; returns its figures."""
    import data_prep

    genome = data_prep.open_genome(data / "genome.fa")
    bigwig = data_prep.open_signal(data / "tn5_insertions.bw")
    peaks = data_prep.read_narrowpeak(data / "peaks.narrowPeak")
    baseline = _status_kib("VmRSS")
    began = time.perf_counter()
    windows = data_prep.extract_windows(peaks, genome, bigwig, INPUT_LENGTH, OUTPUT_LENGTH, MAX_JITTER, progress=False)
    seconds = time.perf_counter() - began
    assert len(windows.dropped) == 0, windows.dropped.head()
    return len(windows.regions), seconds, baseline, windows.sequences, windows.counts


def child(method: str, data: pathlib.Path) -> None:
    """Run one method in this (child) process and print its figures as one JSON line."""
    n, seconds, baseline, sequences, counts = (run_extract if method == "extract_windows" else run_loop)(data)
    peak = _status_kib("VmHWM")
    print(json.dumps({"method": method, "regions": n, "seconds": seconds, "extra_kib": peak - baseline,
                      "array_bytes": int(sequences.nbytes + counts.nbytes),
                      "dtypes": f"{sequences.dtype}/{counts.dtype}", "digest": _digest(sequences, counts)}))


def main() -> None:
    """Make the data set, run each method in a child process and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-peaks", type=int, default=50_000)
    parser.add_argument("--n-chroms", type=int, default=24)
    parser.add_argument("--chrom-size", type=int, default=10_000_000, help="bp per chromosome (default 10 Mb)")
    parser.add_argument("--workdir", default="bench_out/extract", help="where the synthetic data set is cached")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", choices=["extract_windows", "loop"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, pathlib.Path(args.data))
        return

    import data_prep

    settings = {"n_chroms": args.n_chroms, "chrom_size": args.chrom_size, "n_peaks": args.n_peaks, "seed": args.seed}
    data = pathlib.Path(args.workdir) / "_".join(f"{k}{v}" for k, v in settings.items())
    marker = data / "settings.json"
    if not marker.exists() or json.loads(marker.read_text()) != settings:
        began = time.perf_counter()
        data_prep.make_synthetic_dataset(data, **settings)
        marker.write_text(json.dumps(settings))
        print(f"synthetic data set: {time.perf_counter() - began:.1f} s -> {data}")
    print(f"{args.n_peaks:,} peaks on {args.n_chroms} x {args.chrom_size:,} bp; "
          f"windows {INPUT_LENGTH + 2 * MAX_JITTER} bp "
          f"sequence + {OUTPUT_LENGTH + 2 * MAX_JITTER} bp counts; memory = peak RSS - RSS before extraction")
    results = []
    for method in ("loop", "extract_windows"):
        out = subprocess.run([sys.executable, __file__, "--child", method, "--data", str(data)],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    header = (f"{'method':<17}{'regions':>9}{'seconds':>9}{'regions/s':>11}{'peak MB':>9}{'bytes/region':>14}"
              f"{'arrays':>16}")
    print(header)
    for r in results:
        rate = r["regions"] / r["seconds"]
        print(f"{r['method']:<17}{r['regions']:>9,}{r['seconds']:>9.2f}{rate:>11,.0f}{r['extra_kib'] / 1024:>9.0f}"
              f"{r['extra_kib'] * 1024 / r['regions']:>14,.0f}{r['dtypes']:>16}")
    loop, ours = results
    speed = (ours["regions"] / ours["seconds"]) / (loop["regions"] / loop["seconds"])
    memory = ours["extra_kib"] / loop["extra_kib"]
    print(f"extract_windows: {speed:.1f}x the loop's regions/s (target >= 5x), {memory:.2f}x its bytes per region "
          f"(target <= 0.5x); results identical: {ours['digest'] == loop['digest']}")


if __name__ == "__main__":
    main()
