"""Real data shipped with the package.

The mouse ATAC-seq set (``dream-keras quickstart``) and one small sample table per sequence-table task (``dream-keras
train --task dream_yeast|starrseq|lentimpra``).
"""

from __future__ import annotations

import dataclasses
import pathlib
from importlib import resources


@dataclasses.dataclass(frozen=True)
class AtacData:
    """Paths of one ATAC-seq data set.

    FASTA, chrom.sizes, per-base Tn5 insertion bigWig, narrowPeak peaks, a folder of ``fold_N.json`` chromosome folds
    and the aligned reads (BAM).
    """

    genome: pathlib.Path
    chrom_sizes: pathlib.Path
    bigwig: pathlib.Path
    peaks: pathlib.Path
    folds: pathlib.Path
    reads: pathlib.Path | None = None

    def fold(self, number: int) -> pathlib.Path:
        """Path of fold ``number``'s JSON file."""
        return self.folds / f"fold_{int(number)}.json"


def bundled_atac_data() -> AtacData:
    """The bundled real data.

    Mouse ATAC-seq on mm10 chr17:64-65 Mb, cut into five 200 kb pseudo-chromosomes ``chr17_seg1..5`` (87 MACS3 peaks,
    16,886 Tn5 insertions, five folds, and 16,872 aligned reads in ``reads.bam``). See
    ``data_prep/data/atac_mm10/PROVENANCE.txt``; Apache-2.0 (``LICENSE.resolwe-bio.txt``).
    """
    root = pathlib.Path(str(resources.files("data_prep") / "data" / "atac_mm10"))
    return AtacData(genome=root / "genome.fa", chrom_sizes=root / "chrom.sizes", bigwig=root / "tn5_insertions.bw",
                    peaks=root / "peaks.narrowPeak", folds=root / "folds", reads=root / "reads.bam")


@dataclasses.dataclass(frozen=True)
class SampleTable:
    """A bundled sample of one sequence-table task.

    ``train`` (and ``valid`` where the original benchmark ships one), and where the full public set comes from.
    """

    task: str
    train: pathlib.Path
    valid: pathlib.Path | None
    full_set: str


#: Where each task's full public data set comes from (the samples are small cuts of them).
FULL_SETS = {
    "dream_yeast": "the Random Promoter DREAM Challenge training data (about 6.7 million yeast promoter "
                   "sequences, sequence<TAB>expression), linked from the README of "
                   "github.com/de-Boer-Lab/random-promoter-dream-challenge-2022",
    "starrseq": "DeepSTARR's Drosophila S2 UMI-STARR-seq table (de Almeida et al. 2022, Nature Genetics; "
                "Sequences_activity_all.txt), linked from github.com/bernardo-de-almeida/DeepSTARR",
    "lentimpra": "the human lentiMPRA activity tables (Agarwal et al., Nature) as prepared by the Prix Fixe "
                 "benchmarks of github.com/de-Boer-Lab/random-promoter-dream-challenge-2022 (benchmarks/human)",
}

_SAMPLE_FILES = {
    "dream_yeast": ("demo_train.txt", None),
    "starrseq": ("sample_train.txt", "sample_val.txt"),
    "lentimpra": ("sample_train.txt", "sample_valid.txt"),
}


def bundled_table(task: str) -> SampleTable:
    """The bundled sample table of ``task``.

    The bundled sample table of ``task`` (``dream_yeast``: 6,370 real DREAM Challenge sequences; ``starrseq``: 2 x 1,000
    real DeepSTARR sequences; ``lentimpra``: 2 x 1,000 real lentiMPRA sequences). See
    ``data_prep/data/tables/<task>/PROVENANCE.txt``; MIT licences beside them.
    """
    if task not in _SAMPLE_FILES:
        raise KeyError(f"no bundled sample table for task {task!r}; tasks with one: {', '.join(_SAMPLE_FILES)}")
    root = pathlib.Path(str(resources.files("data_prep") / "data" / "tables" / task))
    train, valid = _SAMPLE_FILES[task]
    return SampleTable(task=task, train=root / train, valid=root / valid if valid else None,
                       full_set=FULL_SETS[task])
