"""Recipe for the bundled single-cell demonstration, run once by hand as below (needs pysam).

    python tests/data/reads/make_pseudo_cells.py

Reads tests/data/reads/atac_mm10_fragments.tsv.gz (real bulk mouse ATAC fragments, 8,436 lines, not
Tn5-shifted) and writes into data_prep/data/atac_mm10/:

- fragments.tsv.gz (+ .tbi): the same fragments, each given to one of 240 pseudo-cells (10x-style
  barcodes, 16 bases + "-1"; cell depths drawn log-normally), in the 10x Cell Ranger ATAC layout
  (``#`` header lines, chrom/start/end/barcode/count, bgzip + tabix). The cells are made up: the
  reads of one bulk sample are dealt out at random, so the groups differ only in depth.
- cell_groups.tsv: barcode -> group for 220 of the cells (cluster_A 120 cells, cluster_B 90,
  rare 10); the other 20 barcodes stand for the background barcodes a 10x file also holds.
"""

import gzip
import pathlib

import numpy as np
import pysam

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parents[2] / "data_prep" / "data" / "atac_mm10"
GROUPS = (("cluster_A", 120, 1.0), ("cluster_B", 90, 0.85), ("rare", 10, 0.5), (None, 20, 0.5))


def main() -> None:
    rng = np.random.default_rng(20261207)
    with gzip.open(HERE / "atac_mm10_fragments.tsv.gz", "rt") as handle:
        lines = [line.rstrip("\n").split("\t") for line in handle if line.strip()]
    barcodes, groups, depth = [], [], []
    seen = set()
    for group, cells, scale in GROUPS:
        for _ in range(cells):
            while True:
                barcode = "".join(rng.choice(list("ACGT"), 16)) + "-1"
                if barcode not in seen:
                    break
            seen.add(barcode)
            barcodes.append(barcode)
            groups.append(group)
            depth.append(scale * rng.lognormal(0.0, 0.5))
    weights = np.array(depth) / np.sum(depth)
    cell_of = rng.choice(len(barcodes), size=len(lines), p=weights)
    text = OUT / "fragments.tsv"
    with open(text, "w") as handle:
        handle.write("# id=atac_mm10_pseudo_cells\n# description=real bulk mouse ATAC fragments (genialis/resolwe-bio) "
                     "dealt out to made-up cells; see PROVENANCE.txt\n"
                     "# pipeline_name=dream-keras make_pseudo_cells.py\n"
                     "# reference_path=genome.fa (mm10 chr17:64-65 Mb as chr17_seg1..5)\n")
        for fields, cell in zip(lines, cell_of):
            handle.write(f"{fields[0]}\t{fields[1]}\t{fields[2]}\t{barcodes[cell]}\t{1 + int(rng.poisson(0.3))}\n")
    pysam.tabix_index(str(text), seq_col=0, start_col=1, end_col=2, meta_char="#", zerobased=True, force=True)
    with open(OUT / "cell_groups.tsv", "w") as handle:
        handle.write("barcode\tcluster\n")
        for barcode, group in zip(barcodes, groups):
            if group is not None:
                handle.write(f"{barcode}\t{group}\n")


if __name__ == "__main__":
    main()
