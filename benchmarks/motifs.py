"""Time ``dream-keras motifs`` (TF-MoDISco + TOMTOM + logos + page) on contributions with a known answer.

Writes a contributions file in the ``dream-keras contribs`` layout: ``--regions`` random sequences of
``--length`` bp, each with one instance sampled from CTCF (MA0139.2) or FOS::JUN (MA0099.4) near its
centre, scored by the motif's log-odds over noise; then runs ``discover_motifs`` on it with the
official settings (central 500 bp, at most 50,000 seqlets per sign) and prints the time of each part,
what was found, the CPU and the load average. Numba kernels are compiled on their first use in an
environment (not timed here: run the command twice; the second run's figures are the ones to quote).

    python benchmarks/motifs.py --regions 2000
"""

from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
import time

import numpy as np

from data_prep.motifs import bundled_motif_path, read_meme
from dream_keras.training.jit_choice import cpu_model

MOTIFS = ("MA0139.2", "MA0099.4")


def planted_contributions(path: pathlib.Path, regions: int, length: int, seed: int = 0) -> None:
    """One sampled CTCF or FOS::JUN instance per region, within 100 bp of the centre, random strand."""
    from dream_keras.interpret.tracks import write_contribution_hdf5

    rng = np.random.default_rng(seed)
    database = {m.identifier: m.probabilities for m in read_meme(bundled_motif_path("motif_database.meme.gz"))}
    bases = rng.integers(0, 4, size=(regions, length))
    hypothetical = rng.normal(0.0, 0.01, size=(regions, length, 4)).astype(np.float32)
    for row in range(regions):
        ppm = database[MOTIFS[row % len(MOTIFS)]]
        log_odds = np.log2((ppm + 0.01) / 0.25)
        start = length // 2 + int(rng.integers(-100, 100))
        site = np.minimum((rng.random((len(ppm), 1)) > np.cumsum(ppm, axis=1)).sum(axis=1), 3)
        if rng.random() < 0.5:
            site, log_odds = 3 - site[::-1], log_odds[::-1, ::-1]
        bases[row, start:start + len(ppm)] = site
        hypothetical[row, start:start + len(ppm)] += log_odds
    onehot = np.eye(4, dtype=np.uint8)[bases]
    write_contribution_hdf5(path, onehot, hypothetical, np.array(["chr1"] * regions), np.arange(regions) * length,
                            np.arange(regions) * length + length // 2, "ACGT", {"method": "planted"})


def main() -> None:
    """Time ``dream-keras motifs`` on planted contributions and print the figures and the motif table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=2000)
    parser.add_argument("--length", type=int, default=1000)
    args = parser.parse_args()
    from dream_keras.interpret.motifs.discovery import read_motif_inputs, write_motifs

    with tempfile.TemporaryDirectory(prefix="motifs_benchmark_") as work:
        work = pathlib.Path(work)
        planted_contributions(work / "planted.h5", args.regions, args.length)
        started = time.perf_counter()
        inputs = read_motif_inputs(work / "planted.h5")
        read = time.perf_counter() - started
        started = time.perf_counter()
        found = write_motifs(inputs, work / "out", say=None)
        total = time.perf_counter() - started
        table = found.table
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"{args.regions:,} regions of {args.length} bp (central 500 bp): read and checked in {read:.1f} s; "
          f"TF-MoDISco + TOMTOM against {found.summary['database_motifs']} motifs + logos + page in {total:.1f} s "
          f"({args.regions / total:,.0f} regions/s)")
    print(f"seqlets {found.summary['seqlets']}, patterns {found.summary['patterns']}")
    print(table[["pattern", "n_seqlets", "match_1", "match_1_name", "match_1_q"]].to_string(index=False))


if __name__ == "__main__":
    main()
