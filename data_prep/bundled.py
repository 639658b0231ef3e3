"""The real mouse ATAC-seq data shipped with the package (used by ``dream-keras quickstart``)."""

from __future__ import annotations

import dataclasses
import pathlib
from importlib import resources


@dataclasses.dataclass(frozen=True)
class AtacData:
    """Paths of one ATAC-seq data set: FASTA, chrom.sizes, per-base Tn5 insertion bigWig,
    narrowPeak peaks and a folder of ``fold_N.json`` chromosome folds."""

    genome: pathlib.Path
    chrom_sizes: pathlib.Path
    bigwig: pathlib.Path
    peaks: pathlib.Path
    folds: pathlib.Path

    def fold(self, number: int) -> pathlib.Path:
        """Path of fold ``number``'s JSON file."""
        return self.folds / f"fold_{int(number)}.json"


def bundled_atac_data() -> AtacData:
    """The bundled real data: mouse ATAC-seq on mm10 chr17:64-65 Mb, cut into five 200 kb
    pseudo-chromosomes ``chr17_seg1..5`` (87 MACS3 peaks, 16,886 Tn5 insertions, five folds).
    See ``data_prep/data/atac_mm10/PROVENANCE.txt``; Apache-2.0 (``LICENSE.resolwe-bio.txt``)."""
    root = pathlib.Path(str(resources.files("data_prep") / "data" / "atac_mm10"))
    return AtacData(genome=root / "genome.fa", chrom_sizes=root / "chrom.sizes", bigwig=root / "tn5_insertions.bw",
                    peaks=root / "peaks.narrowPeak", folds=root / "folds")
