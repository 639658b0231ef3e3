"""The inputs of an ATAC fold run, checked before anything trains.

A fold run reads a FASTA, a bigWig of Tn5 insertions, a peak file, a nonpeak (background) file and
a fold (which chromosomes train, validate and test). :func:`check_atac_inputs` stops every mistake a
user can make with them before a model is built, with a message that names the file and the fix:

- a file that does not exist or does not parse;
- chromosome names that differ between the FASTA, the bigWig, the fold and the peaks (the fold's
  chromosomes must be in the FASTA and the bigWig with the same lengths; the peaks and nonpeaks must
  lie on the fold's chromosomes);
- a split (train, valid or test) whose chromosomes hold no peak or no nonpeak;

and :func:`extract_split` / :func:`load_peak_split` stop the ones found while reading windows:
peaks too close to chromosome ends (reported, an error when none is left) and a bigWig that holds no
signal over the peaks.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np
import pandas as pd

from data_prep import Windows, crop_windows, extract_windows, load_fold, read_regions, split_of
from data_prep.errors import InputError
from data_prep.folds import SPLITS, bundled_fold_path
from data_prep.genome import genome_sizes, opened_genome
from data_prep.signal import opened_signal, signal_sizes

#: How a fold is named on the command line besides a JSON path: its number, or ``all``.
ALL_FOLDS = "all"


@dataclasses.dataclass(frozen=True)
class ChromosomeFold:
    """One fold: its chromosome lists, the file they came from and its number (``None`` for a file)."""

    splits: dict
    path: pathlib.Path
    number: int | None = None

    @property
    def label(self) -> str:
        """``fold N`` for a numbered fold, else the fold file's stem."""
        return f"fold {self.number}" if self.number is not None else self.path.stem

    @property
    def argument(self) -> str:
        """The ``--fold`` value that names this fold again: its number, or its file's absolute path."""
        return str(self.number) if self.number is not None else str(self.path.resolve())


def fold_files(fold_dir: str | os.PathLike | None) -> dict[int, pathlib.Path]:
    """``{N: path}`` of the ``fold_N.json`` files in ``fold_dir`` (default: the bundled hg38 folds)."""
    if fold_dir is None:
        return {n: bundled_fold_path("hg38", n) for n in range(5)}
    folder = pathlib.Path(fold_dir)
    if not folder.is_dir():
        raise InputError(f"fold folder {folder} does not exist; give the folder that holds fold_0.json, "
                         "fold_1.json, ... (make them with `dream-keras prep splits`)")
    files = {}
    for path in folder.glob("fold_*.json"):
        number = path.stem.removeprefix("fold_")
        if number.isdigit():
            files[int(number)] = path
    if not files:
        raise InputError(f"fold folder {folder} holds no fold_N.json file; make them with `dream-keras prep splits`")
    return dict(sorted(files.items()))


def resolve_folds(fold: str, fold_dir: str | os.PathLike | None = None) -> list[ChromosomeFold]:
    """The folds a ``--fold`` value names.

    ``fold`` is a number (``fold_N.json`` in ``fold_dir``, default the bundled hg38 folds), ``all``
    (every ``fold_N.json`` there) or the path of a fold JSON file.
    """
    text = str(fold).strip()
    if text == ALL_FOLDS or text.isdigit():
        files = fold_files(fold_dir)
        if text == ALL_FOLDS:
            numbers = list(files)
        else:
            numbers = [int(text)]
            if numbers[0] not in files:
                where = fold_dir if fold_dir is not None else "the bundled hg38 folds"
                raise InputError(f"fold {text} does not exist in {where} (it has folds "
                                 f"{', '.join(map(str, files))}); give --fold one of those or a fold JSON path")
        return [ChromosomeFold(load_fold(files[n]), pathlib.Path(files[n]), n) for n in numbers]
    path = pathlib.Path(text)
    if not path.is_file():
        raise InputError(f"--fold {text!r} is neither a fold number, 'all', nor an existing fold JSON file; "
                         "pass e.g. --fold 0 (with --fold-dir DIR holding fold_0.json ...) or --fold path/fold.json")
    return [ChromosomeFold(load_fold(path), path, None)]


def _require_file(path, what: str, fix: str) -> pathlib.Path:
    if path is None:
        raise InputError(f"no {what} given; {fix}")
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist; {fix}")
    return path


@dataclasses.dataclass(frozen=True)
class AtacInputs:
    """Checked inputs of one fold: paths, the fold, the regions of each split and the chromosome sizes.

    ``peaks`` and ``nonpeaks`` are DataFrames (``chrom, start, end, summit`` ...) of the regions on the
    fold's chromosomes, with a ``split`` column (``train``, ``valid``, ``test``).
    """

    genome: pathlib.Path
    bigwig: pathlib.Path
    peaks_path: pathlib.Path
    nonpeaks_path: pathlib.Path | None
    fold: ChromosomeFold
    peaks: pd.DataFrame
    nonpeaks: pd.DataFrame | None
    chrom_sizes: dict

    def regions(self, kind: str, splits) -> pd.DataFrame:
        """The ``kind`` (``peaks``/``nonpeaks``) regions of the given split names, in file order."""
        frame = self.peaks if kind == "peaks" else self.nonpeaks
        return frame[frame["split"].isin(list(splits))].reset_index(drop=True)


def _chromosome_list(names, limit: int = 8) -> str:
    names = list(names)
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def _split_regions(regions: pd.DataFrame, path: pathlib.Path, what: str, fold: ChromosomeFold,
                   need: tuple[str, ...]) -> pd.DataFrame:
    """Regions on the fold's chromosomes with their split; errors when a needed split has none."""
    split = split_of(regions, fold.splits)
    on_fold = regions.assign(split=split.to_numpy())[split.to_numpy() != ""].reset_index(drop=True)
    fold_chroms = [c for s in SPLITS for c in fold.splits[s]]
    if on_fold.empty:
        raise InputError(
            f"none of the {len(regions)} {what} in {path} lies on a chromosome of {fold.path} ({what} are on "
            f"{_chromosome_list(pd.unique(regions['chrom']))}; the fold names {_chromosome_list(fold_chroms)}). "
            "Use the same chromosome naming (e.g. 'chr1' or '1') in the region file, FASTA, bigWig and fold")
    for name in need:
        if not (on_fold["split"] == name).any():
            raise InputError(
                f"{fold.path} puts {_chromosome_list(fold.splits[name])} in '{name}', but {path} has no {what} "
                f"on {'them' if len(fold.splits[name]) > 1 else 'it'}; choose a fold whose {name} chromosomes "
                f"hold {what} (e.g. another --fold, or make one with `dream-keras prep splits`)")
    return on_fold


def check_atac_inputs(*, genome, bigwig, peaks, nonpeaks, fold: ChromosomeFold,
                      need_splits: tuple[str, ...] = SPLITS) -> AtacInputs:
    """Check the files of one fold run against each other (see the module docstring).

    Args:
        genome: paths of the FASTA, the insertion bigWig and the narrowPeak/BED peaks.
        bigwig: paths of the FASTA, the insertion bigWig and the narrowPeak/BED peaks.
        peaks: paths of the FASTA, the insertion bigWig and the narrowPeak/BED peaks.
        nonpeaks: path of the nonpeak narrowPeak/BED file (``None`` where a command needs no nonpeaks).
        fold: the fold (:func:`resolve_folds`).
        need_splits: splits that must hold peaks (and nonpeaks): all three for training.

    Returns:
        :class:`AtacInputs`. Raises :class:`InputError` naming the file and the fix.
    """
    genome = _require_file(genome, "genome FASTA", "pass --genome with the reference FASTA")
    bigwig = _require_file(bigwig, "bigWig", "pass --bigwig with the per-base Tn5 insertion counts")
    peaks_path = _require_file(peaks, "peak file", "pass --peaks with a narrowPeak (or BED) file")
    nonpeaks_path = None
    if nonpeaks is not None:
        nonpeaks_path = _require_file(nonpeaks, "nonpeak file",
                                      "pass --nonpeaks (make one with `dream-keras prep nonpeaks`)")
    with opened_genome(genome) as fasta, opened_signal(bigwig) as signal:
        fasta_sizes, bigwig_sizes = genome_sizes(fasta), signal_sizes(signal)
    for split in SPLITS:
        for chrom in fold.splits[split]:
            if chrom not in fasta_sizes:
                raise InputError(f"{fold.path} puts chromosome {chrom} in '{split}', but the FASTA {genome} has no "
                                 f"{chrom} (it has {_chromosome_list(fasta_sizes)}); use a fold made for this genome "
                                 "(--fold-dir DIR, or `dream-keras prep splits`)")
            if chrom not in bigwig_sizes:
                raise InputError(f"{fold.path} puts chromosome {chrom} in '{split}', but the bigWig {bigwig} has no "
                                 f"{chrom} (it has {_chromosome_list(bigwig_sizes)}); check that the bigWig was made "
                                 "against this genome with the same chromosome naming")
            if fasta_sizes[chrom] != bigwig_sizes[chrom]:
                raise InputError(f"{chrom} is {fasta_sizes[chrom]} bp in the FASTA {genome} but {bigwig_sizes[chrom]} "
                                 f"bp in the bigWig {bigwig}: they come from different assemblies; use the bigWig "
                                 "made against this FASTA")
    peak_frame = _split_regions(read_regions(peaks_path), peaks_path, "peaks", fold, need_splits)
    nonpeak_frame = None
    if nonpeaks_path is not None:
        nonpeak_frame = _split_regions(read_regions(nonpeaks_path), nonpeaks_path, "nonpeaks", fold, need_splits)
    sizes = {c: fasta_sizes[c] for s in SPLITS for c in fold.splits[s]}
    return AtacInputs(genome, bigwig, peaks_path, nonpeaks_path, fold, peak_frame, nonpeak_frame, sizes)


def extract_split(inputs: AtacInputs, kind: str, splits, *, input_length: int, output_length: int,
                  margin: int = 0, progress: bool | None = None) -> tuple[Windows, int]:
    """Windows of the ``kind`` regions in ``splits``, ``margin`` bp extra on each side.

    Returns ``(windows, n_dropped)``: regions whose window runs off the chromosome end are dropped
    (as the official edge filter at ``input_length + 2 * margin``). Raises :class:`InputError` when
    every region of one of the splits was dropped.
    """
    regions = inputs.regions(kind, splits)
    path = inputs.peaks_path if kind == "peaks" else inputs.nonpeaks_path
    windows = extract_windows(regions, inputs.genome, inputs.bigwig, input_length, output_length, margin,
                              progress=progress)
    for split in splits:
        n_regions = int((regions["split"] == split).sum())
        if n_regions and not (windows.regions["split"] == split).any():
            width = input_length + 2 * margin
            raise InputError(
                f"all {n_regions} {split} {kind} of {path} lie within {width // 2} bp of a chromosome end, so no "
                f"{width} bp window (input_length {input_length}{f' + 2 x max_jitter {margin}' if margin else ''}) "
                f"fits; use a smaller --input-length{' or --max-jitter' if margin else ''}, or longer chromosomes")
    return windows, len(windows.dropped)


def window_totals(windows: Windows, output_length: int) -> np.ndarray:
    """Total counts of each window over its centred ``output_length`` bp (float64 ``(n,)``)."""
    counts = crop_windows(windows, windows.sequences.shape[1], output_length).counts
    return counts.sum(axis=1, dtype=np.float64)


def check_signal(totals: np.ndarray, inputs: AtacInputs, what: str) -> None:
    """Raise when the bigWig holds no count over any of the given regions' output windows."""
    if totals.size and not np.any(totals > 0):
        raise InputError(
            f"the bigWig {inputs.bigwig} holds no signal over the {totals.size} {what} of {inputs.peaks_path} "
            "(every total is 0): it is empty there. Check that it is this experiment's per-base Tn5 insertion "
            "bigWig (not a different sample or assembly) and that the peaks were called on the same data")

