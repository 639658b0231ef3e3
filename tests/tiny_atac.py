"""The tiny ATAC runs the tests share, and the command lines that make them.

``conftest.py`` trains one bias run and one bias-factorised main run per session with these
arguments (on the real mouse fixture, ``tests/data/atac_mm10``, fold 0); a test that repeats or
changes one of them builds its command line from the same functions, so that it matches the shared
run exactly (seeded runs repeat bit for bit on CPU).
"""

from __future__ import annotations

import pathlib

#: Window sizes of the tiny runs: 512 bp in, 256 bp out, peaks jittered by up to 32 bp.
INPUT, OUTPUT, JITTER = 512, 256, 32
#: BPNet with 4 filters and 1 dilated layer (bias and main model alike).
TINY_BPNET = ["--filters", "4", "--n-dil-layers", "1"]
#: The shared bias run: 1 epoch; the shared main run: 2 epochs (a best epoch to choose).
BIAS_EPOCHS, MAIN_EPOCHS = 1, 2
BATCH_SIZE = 64


def nonpeaks_args(atac: pathlib.Path, out: pathlib.Path) -> list[str]:
    """``prep nonpeaks`` for fold 0 at the tiny input length (4 nonpeaks per train/valid peak)."""
    return ["prep", "nonpeaks", "--genome", str(atac / "genome.fa"), "--peaks", str(atac / "peaks.narrowPeak"),
            "--fold", "0", "--fold-dir", str(atac / "folds"), "--out", str(out), "--input-length", str(INPUT),
            "--stride", "256", "--ratio", "4"]


def data_args(atac: pathlib.Path, nonpeaks, *, genome=None, bigwig=None, peaks=None, fold_dir=None) -> list[str]:
    """The input options of ``bias train`` and ``train`` (each replaceable)."""
    return ["--genome", str(genome or atac / "genome.fa"), "--bigwig", str(bigwig or atac / "tn5_insertions.bw"),
            "--peaks", str(peaks or atac / "peaks.narrowPeak"), "--nonpeaks", str(nonpeaks),
            "--fold-dir", str(fold_dir or atac / "folds")]


def bias_args(atac: pathlib.Path, nonpeaks, out, **inputs) -> list[str]:
    """The shared bias run's command (``inputs``: any of :func:`data_args`'s replacements)."""
    return ["bias", "train", *data_args(atac, nonpeaks, **inputs), "--fold", "0", "--out", str(out),
            "--input-length", str(INPUT), "--output-length", str(OUTPUT), *TINY_BPNET, "--epochs", str(BIAS_EPOCHS),
            "--batch-size", str(BATCH_SIZE)]


def train_args(atac: pathlib.Path, nonpeaks, bias_run, out, *extra, peaks=None, bigwig=None) -> list[str]:
    """``train`` on the tiny windows with ``bias_run``'s bias model; ``extra`` adds the fold, sizes, epochs."""
    return ["train", *data_args(atac, nonpeaks, peaks=peaks, bigwig=bigwig),
            "--bias-model", str(pathlib.Path(bias_run) / "models" / "bias.keras"), "--out", str(out),
            "--input-length", str(INPUT), "--output-length", str(OUTPUT), "--max-jitter", str(JITTER),
            "--batch-size", str(BATCH_SIZE), *extra]


def main_args(atac: pathlib.Path, nonpeaks, bias_run, out) -> list[str]:
    """The shared main run's command: fold 0, tiny BPNet, :data:`MAIN_EPOCHS` epochs."""
    return train_args(atac, nonpeaks, bias_run, out, "--fold", "0", *TINY_BPNET, "--epochs", str(MAIN_EPOCHS))
