"""``dream-keras demo-data --out DIR``: copy the real data bundled with the package into a folder.

The documentation's examples run on it. ``DIR`` gets::

    atac/        mouse ATAC-seq (mm10 chr17:64-65 Mb as chr17_seg1..5): genome.fa, chrom.sizes,
                 tn5_insertions.bw, peaks.narrowPeak, folds/fold_{0..4}.json, variants.vcf, reads.bam;
                 fragments.tsv.gz (+ .tbi) and cell_groups.tsv: the same reads dealt out to made-up
                 cells in the 10x layout, for the single-cell tutorial
    tables/      dream_yeast/, starrseq/, lentimpra/: the sample tables of the sequence-table tasks
    motifs/      JASPAR and ChromBPNet enzyme-bias motifs (MEME)
    chrombpnet/  small official ChromBPNet .h5 files (random weights) for ``import-chrombpnet``

each with its licence and PROVENANCE.txt. The copy is made in a temporary folder beside ``DIR`` and
renamed when complete; an existing ``DIR`` is never touched.
"""

from __future__ import annotations

import os
import pathlib
import shutil

#: Folder in the copy -> folder under ``data_prep/data``.
LAYOUT = {"atac": "atac_mm10", "tables": "tables", "motifs": "motifs", "chrombpnet": "chrombpnet_small"}


def add_parser(sub) -> None:
    """Add ``dream-keras demo-data`` to the subcommands."""
    p = sub.add_parser("demo-data",
                       help="copy the bundled real data into a folder (the documentation's examples use it)",
                       description="Copy the real data bundled with the package (mouse ATAC-seq, sample tables "
                                   "of the DREAM yeast, STARR-seq and lentiMPRA tasks, motifs, small official "
                                   "ChromBPNet files) into --out, with licences and provenance.")
    p.add_argument("--out", default="demo", help="folder to create (default: ./demo); must not exist")
    p.set_defaults(func=run)


def copy_demo_data(out: str | os.PathLike) -> pathlib.Path:
    """Copy the bundled data into the new folder ``out`` (see the module docstring); returns it."""
    from importlib import resources

    from data_prep.outputs import atomic_path, open_output

    out = pathlib.Path(out)
    source = pathlib.Path(str(resources.files("data_prep") / "data"))
    # a new folder only (no --overwrite), copied under a temporary name and renamed when complete
    with open_output(out, kind="files"), atomic_path(out) as staging:
        for name, folder in LAYOUT.items():
            shutil.copytree(source / folder, staging / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py"))
    return out


def run(args) -> int:
    """Run ``dream-keras demo-data``; returns the exit status."""
    out = copy_demo_data(args.out)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    print(f"wrote {out}/: {len(files)} files, {size / 1e6:.1f} MB")
    for name in LAYOUT:
        print(f"  {out / name}/")
    print(f"next: dream-keras quickstart, or the documentation's examples with the files under {out}/")
    return 0
