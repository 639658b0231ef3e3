"""Build the motif database that ``dream-keras motifs`` matches patterns against (run once, by hand).

Writes ``data_prep/data/motifs/motif_database.meme.gz``: the ChromBPNet enzyme-bias motifs
(``chrombpnet_bias_motifs.meme``: TN5_*, DNASE_*), then every matrix of JASPAR 2024 CORE
vertebrates non-redundant (the latest version of each profile, as JASPAR's own
``JASPAR2024_CORE_vertebrates_non-redundant_pfms_meme.txt``), counts turned into probabilities.
The JASPAR matrices come from the SQLite database that the PyPI package ``pyjaspar`` ships (no
network besides PyPI). The output is deterministic (gzip without a time stamp), so running this
again with the same pyjaspar gives the same bytes.

    pip install --target /tmp/pyjaspar pyjaspar
    PYTHONPATH=/tmp/pyjaspar python benchmarks/make_motif_database.py

Prints the number of matrices of each source and the file's size and SHA-256.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import pathlib

import numpy as np

MOTIFS = pathlib.Path(__file__).resolve().parents[1] / "data_prep" / "data" / "motifs"
RELEASE = "JASPAR2024"


def _bias_blocks(path: pathlib.Path) -> list[str]:
    """The MOTIF blocks of a MEME file, as text (header dropped)."""
    text = path.read_text()
    return ["MOTIF" + block.rstrip() + "\n" for block in text.split("\nMOTIF")[1:]]


def _jaspar_blocks(release: str) -> tuple[list[str], str]:
    import pyjaspar
    from pyjaspar import jaspardb

    database = jaspardb(release=release)
    motifs = database.fetch_motifs(collection="CORE", tax_group=["vertebrates"], all_versions=False)
    blocks = []
    for motif in sorted(motifs, key=lambda m: m.matrix_id):
        counts = np.array([motif.counts[base] for base in "ACGT"], dtype=np.float64).T   # (width, 4)
        probabilities = counts / counts.sum(axis=1, keepdims=True)
        sites = int(round(counts.sum(axis=1).max()))
        name = motif.name.replace(" ", "_")
        rows = "".join(" ".join(f"{p:.6f}" for p in row) + "\n" for row in probabilities)
        blocks.append(f"MOTIF {motif.matrix_id} {name}\n"
                      f"letter-probability matrix: alength= 4 w= {len(probabilities)} nsites= {sites} E= 0\n{rows}")
    return blocks, pyjaspar.__version__


def main() -> None:
    """Write the motif database (``--out``) and print its matrix counts, size and SHA-256."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(MOTIFS / "motif_database.meme.gz"))
    args = parser.parse_args()
    bias = _bias_blocks(MOTIFS / "chrombpnet_bias_motifs.meme")
    jaspar, version = _jaspar_blocks(RELEASE)
    header = ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n"
              "A 0.25 C 0.25 G 0.25 T 0.25\n\n")
    text = header + "\n".join(bias + jaspar)
    out = pathlib.Path(args.out)
    with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as handle:
        handle.write(text.encode())
    data = out.read_bytes()
    print(f"{out}: {len(bias)} enzyme-bias matrices (chrombpnet_bias_motifs.meme) + {len(jaspar)} {RELEASE} CORE "
          f"vertebrates non-redundant matrices (pyjaspar {version}); {len(data):,} bytes, "
          f"sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
