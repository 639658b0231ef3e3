"""Shared by the variant benchmarks: test variants, and running the official variant scorer in its environment.

- :func:`random_variants`: SNVs (and, when asked, deletions and insertions) at random positions of
  a FASTA whose window fits the chromosome, with the FASTA's reference allele, seeded.
- :func:`run_official`: kundajelab/variant-scorer's ``src/variant_scoring.py`` on a variant list, in
  the official environment (``benchmarks/setup_official_variant_scorer.sh``), as a subprocess under
  ``TF_USE_LEGACY_KERAS=1``. The official code is run unchanged except for one line of DeepLIFT
  (the scorer's dinucleotide shuffle): ``deeplift.dinuc_shuffle.char_array_to_string`` calls
  ``ndarray.tostring()``, which numpy 2 removed; it is replaced by ``tobytes()``, which returns the
  same bytes. The runner times ``main()`` after its imports (model loading, reading, scoring,
  writing; TensorFlow's import excluded).
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

import numpy as np
import pandas as pd

RUNNER = r'''
import json, runpy, sys, time
import deeplift.dinuc_shuffle as dinuc
dinuc.char_array_to_string = lambda arr: arr.tobytes().decode("ascii")  # numpy 2 has no tostring()
source = sys.argv[1]
sys.path.insert(0, source)
import utils.helpers, utils.io, utils.argmanager  # noqa: F401  (TensorFlow imported before the clock starts)
sys.argv = [source + "/variant_scoring.py"] + sys.argv[2:]
started = time.perf_counter()
runpy.run_path(source + "/variant_scoring.py", run_name="__main__")
print("OFFICIAL_SECONDS", time.perf_counter() - started)
'''


def random_variants(genome: str | os.PathLike, n_snvs: int, *, n_deletions: int = 0, n_insertions: int = 0,
                    input_length: int = 2114, seed: int = 0, span: int | None = None) -> pd.DataFrame:
    """Seeded test variants (``chr, pos, allele1, allele2, variant_id``; ``-`` for an empty allele).

    Positions are drawn over the chromosomes in proportion to their length (or, with ``span``, in the
    first ``span`` bases of the first chromosome whose windows fit), with the whole window (and a
    10 bp deletion) inside the chromosome; bases that are not A/C/G/T, and repeats of a variant
    already drawn, are redrawn.
    """
    import pyfaidx

    rng = np.random.default_rng(seed)
    rows, seen = [], set()
    with pyfaidx.Fasta(str(genome), as_raw=True, sequence_always_upper=True) as fasta:
        names = list(fasta.keys())
        sizes = np.array([len(fasta[name]) for name in names])
        flank = input_length // 2
        for kind, count in (("snv", n_snvs), ("del", n_deletions), ("ins", n_insertions)):
            made = 0
            while made < count:
                chrom = names[0] if span else names[rng.choice(len(names), p=sizes / sizes.sum())]
                size = len(fasta[chrom])
                high = min(size - flank - 12, flank + 2 + span) if span else size - flank - 12
                pos = int(rng.integers(flank + 2, high))  # 1-based
                if kind == "snv":
                    ref = fasta[chrom][pos - 1]
                    if ref not in "ACGT":
                        continue
                    alt = "ACGT".replace(ref, "")[rng.integers(3)]
                elif kind == "del":
                    length = int(rng.integers(1, 10))
                    ref = fasta[chrom][pos - 1:pos - 1 + length]
                    if set(ref) - set("ACGT"):
                        continue
                    alt = "-"
                else:
                    ref, alt = "-", "".join(rng.choice(list("ACGT"), int(rng.integers(1, 10))))
                if (chrom, pos, ref, alt) in seen:
                    continue
                seen.add((chrom, pos, ref, alt))
                rows.append((chrom, pos, ref, alt, f"{kind}_{made}_{chrom}_{pos}"))
                made += 1
    return pd.DataFrame(rows, columns=["chr", "pos", "allele1", "allele2", "variant_id"])


def spaced_snvs(genome: str | os.PathLike, spacing: int, *, input_length: int = 2114, seed: int = 0) -> pd.DataFrame:
    """Seeded SNVs at least ``spacing`` bases apart, as many as the chromosomes hold.

    With ``spacing > input_length`` no two windows overlap. The table has the layout of :func:`random_variants`.
    """
    import pyfaidx

    rng = np.random.default_rng(seed)
    rows = []
    with pyfaidx.Fasta(str(genome), as_raw=True, sequence_always_upper=True) as fasta:
        flank = input_length // 2
        for chrom in fasta.keys():
            size = len(fasta[chrom])
            for pos in range(flank + 2, size - flank - 2, spacing):
                ref = fasta[chrom][pos - 1]
                if ref in "ACGT":
                    alt = "ACGT".replace(ref, "")[rng.integers(3)]
                    rows.append((chrom, pos, ref, alt, f"spaced_{chrom}_{pos}"))
    order = rng.permutation(len(rows))  # spread over the chromosomes when only the first n are used
    return pd.DataFrame([rows[i] for i in order], columns=["chr", "pos", "allele1", "allele2", "variant_id"])


def write_chrom_sizes(genome: str | os.PathLike, path: str | os.PathLike) -> pathlib.Path:
    """Write the chrom.sizes file of a FASTA.

    Args:
        genome: the FASTA.
        path: the file to write (``name<TAB>length`` per sequence, in the FASTA's order).

    Returns:
        ``path``.
    """
    import pyfaidx

    with pyfaidx.Fasta(str(genome)) as fasta:
        pathlib.Path(path).write_text("".join(f"{name}\t{len(fasta[name])}\n" for name in fasta.keys()))
    return pathlib.Path(path)


def run_official(python: str, source: str | os.PathLike, *, variants: str, genome: str, model: str, chrom_sizes: str,
                 out_prefix: str, peaks: str | None = None, num_shuffles: int = 0, seed: int = 1234,
                 batch_size: int = 512, no_hdf5: bool = True, extra: list[str] | None = None,
                 threads: int | None = None) -> float:
    """Run the official ``variant_scoring.py``; returns its ``main()`` seconds (raises on failure)."""
    source = pathlib.Path(source) / "src"
    if not (source / "variant_scoring.py").is_file():
        raise SystemExit(f"no official variant scorer at {source}: run "
                         "bash benchmarks/setup_official_variant_scorer.sh")
    arguments = ["--list", variants, "--genome", genome, "--model", model, "--chrom_sizes", chrom_sizes,
                 "--out_prefix", out_prefix, "--schema", "chrombpnet", "--random_seed", str(seed),
                 "--batch_size", str(batch_size)]
    arguments += ["--num_shuf", str(num_shuffles)] if num_shuffles else ["--total_shuf", "0"]
    if peaks:
        arguments += ["--peaks", peaks]
    if no_hdf5:
        arguments.append("--no_hdf5")
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONPATH", None)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads))
    done = subprocess.run([python, "-c", RUNNER, str(source), *arguments, *(extra or [])], capture_output=True,
                          text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"the official variant scorer failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return float(re.findall(r"OFFICIAL_SECONDS ([0-9.]+)", done.stdout)[-1])


__all__ = ["RUNNER", "random_variants", "run_official", "spaced_snvs", "write_chrom_sizes"]
