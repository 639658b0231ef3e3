"""DREAM Challenge yeast random-promoter tables (``sequence<TAB>expression``), encoded as Prix Fixe does.

Input rows are reads such as ``TGCATTTTTTTCACATC`` + 80 random bases + ``GGTTACGGCTGTT`` (mostly
110 bp) with a MAUDE expression estimate in [0, 17]; an integer expression marks a sequence seen in
only one cell ("singleton"). An optional third column (a fold label) is kept in the table.

Encoding (the Prix Fixe ``autosome`` data processor and predictor):

- **Padding to 150 bp.** The first 17 bases (the 5' adaptor) are dropped and the 150 plasmid bases
  just 5' of the N80 insert site are put in front; the last 150 bases are kept. The plasmid flank
  itself ends with the adaptor, so a read that starts with the adaptor ends up whole at the 3' end.
  Like the original, the first 17 bases are dropped whether or not they match the adaptor, a longer
  read loses its 5' end (only its last 150 bases are kept) and a shorter read gets more plasmid.
- **Six channels:** one-hot ``A, G, C, T`` (N: all zero, as the training data processor does; the
  original single-sequence predictor wrote 0.25 for N instead), ``is_reverse`` (1 on
  reverse-complement copies) and ``is_singleton`` (1 when the expression is a whole number).
- **Training** doubles the rows with reverse complements of the padded sequence
  (:func:`with_reverse_complements`); **prediction** encodes ``is_singleton = 0`` and both
  orientations (:func:`test_time_inputs`) so that the two predictions can be averaged.
- **Soft-bin targets:** the probabilities of the 18 bins ``(-inf, 1), [1, 2), ..., [16, 17), [17, inf)``
  (bin k covers [k, k+1) with the first and last open-ended) under Normal(expression + 0.5, 0.5).
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import numpy as np
from scipy.special import ndtr

from data_prep.errors import InputError
from data_prep.onehot import one_hot_encode
from data_prep.tables.encoding import append_flag_channels, reverse_complement_one_hot
from data_prep.tables.reading import check_sequences, numeric_column, read_tsv
from data_prep.tables.sequence_table import REVERSE_COMPLEMENT_COPY, SequenceTable, SplitIndices

TASK = "dream_yeast"
ALPHABET = "AGCT"
CHANNEL_NAMES = ("A", "G", "C", "T", "is_reverse", "is_singleton")
IS_REVERSE_CHANNEL = CHANNEL_NAMES.index("is_reverse")
INPUT_LENGTH = 150
TASK_NAMES = ["expression"]
ADAPTOR_5PRIME = "TGCATTTTTTTCACATC"
INSERT_SITE = "N" * 80
# The 150 plasmid bases 5' of the N80 insert site in the DREAM plasmid (de-Boer-Lab
# random-promoter-dream-challenge-2022, data/plasmid.json); read_plasmid_flank() derives the same.
PLASMID_FLANK_5PRIME = (
    "AGTCCACTATTAAAGAACGTGGACTCCAACGTCAAAGGGCGAAAAACCGTCTATCAGGGCGATGGCCCACTACGTGAACCATCACCCTAATCAAGTGC"
    "TAGCAGGAATGATGCAAAAGGTTCCCGATTCGAACTGCATTTTTTTCACATC")
N_BINS = 18
BIN_SHIFT = 0.5   # the measured expression e stands for the bin [e, e+1): its centre e + 0.5
BIN_SCALE = 0.5   # standard deviation of the assumed measurement noise
FILE_FORMAT = "a DREAM yeast table: sequence<TAB>expression per line, no header"


def read_plasmid_flank(path: str | os.PathLike, length: int = INPUT_LENGTH) -> str:
    """The ``length`` plasmid bases just 5' of the N80 insert site.

    Args:
        path: a JSON file holding the plasmid sequence as one string (DREAM ``plasmid.json``).
        length: how many bases to return.

    Raises:
        InputError: the file is not a JSON string, has no run of 80 N, or too few bases before it.
    """
    path = os.fspath(path)
    try:
        with open(path) as handle:
            plasmid = json.load(handle)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read the plasmid ({error}). Fix: give the DREAM plasmid.json, "
                         "a JSON string holding the plasmid with its N80 insert site.") from None
    if not isinstance(plasmid, str):
        raise InputError(f"{path}: expected a JSON string (the plasmid sequence), found {type(plasmid).__name__}. "
                         "Fix: give the DREAM plasmid.json.")
    insert_start = plasmid.upper().find(INSERT_SITE)
    if insert_start < 0:
        raise InputError(f"{path}: no run of 80 N (the insert site) in the plasmid. Fix: give the DREAM "
                         "plasmid.json, whose N80 marks where the random promoter goes.")
    if insert_start < length:
        raise InputError(f"{path}: only {insert_start} bases before the N80 insert site, {length} needed.")
    return plasmid[insert_start - length:insert_start].upper()


def pad_with_plasmid(reads: Sequence[str], flank: str = PLASMID_FLANK_5PRIME,
                     length: int = INPUT_LENGTH) -> list[str]:
    """Drops the 17-base adaptor from each read, puts the plasmid flank in front, keeps the last ``length``.

    Args:
        reads: n DNA strings starting with the 5' adaptor.
        flank: the plasmid bases 5' of the insert site (at least ``length``).
        length: bases kept (the model's input length).

    Returns:
        n strings of exactly ``length`` bases (upper case).
    """
    return [(flank + read[len(ADAPTOR_5PRIME):].upper())[-length:] for read in reads]


def singleton_flags(expression: np.ndarray) -> np.ndarray:
    """True where the expression is a whole number (a sequence measured in one cell), as float.is_integer()."""
    expression = np.asarray(expression, dtype=np.float64)
    return expression == np.floor(expression)


def soft_bin_targets(expression: np.ndarray, n_bins: int = N_BINS, shift: float = BIN_SHIFT,
                     scale: float = BIN_SCALE) -> np.ndarray:
    """Probabilities of the expression bins under Normal(expression + shift, scale).

    Bin k covers [k, k+1) for 0 < k < n_bins - 1; bin 0 is (-inf, 1) and the last bin [n_bins - 1, inf).

    Args:
        expression: ``(n,)`` measured expression.
        n_bins: number of bins.
        shift: added to the expression before the bins are drawn.
        scale: standard deviation of the Normal.

    Returns:
        ``(n, n_bins)`` float32, each row summing to 1.
    """
    edges = np.concatenate([[-np.inf], np.arange(1, n_bins, dtype=np.float64), [np.inf]])
    mean = np.asarray(expression, dtype=np.float64)[:, None] + shift
    cumulative = ndtr((edges[None, :] - mean) / scale)
    return np.diff(cumulative, axis=1).astype(np.float32)


def _encode_padded(padded: Sequence[str], is_reverse: float, is_singleton, dtype) -> np.ndarray:
    return append_flag_channels(one_hot_encode(padded, ALPHABET, dtype=dtype), is_reverse, is_singleton)


def load_dream_yeast(path: str | os.PathLike, plasmid_path: str | os.PathLike | None = None,
                     require_targets: bool = True, dtype=np.float32) -> SequenceTable:
    """Reads and encodes a DREAM yeast table (forward orientation only; see :func:`with_reverse_complements`).

    Args:
        path: ``sequence<TAB>expression[<TAB>fold]`` lines, no header.
        plasmid_path: the DREAM ``plasmid.json``; None uses the built-in flank (the same bases).
        require_targets: False accepts a sequence-only file (prediction): no targets, is_singleton 0.
        dtype: dtype of ``sequences`` (uint8 needs a quarter of float32's memory).

    Returns:
        SequenceTable with ``sequences`` ``(n, 150, 6)``, targets ``expression`` ``(n, 1)`` and ``bins``
        ``(n, 18)``, and the table's columns ``sequence``, ``expression`` (, ``fold``), ``is_singleton``,
        ``reverse_complement_copy``.

    Raises:
        InputError: naming the file and line of an empty sequence, a character outside ACGTN, or an
            expression that is not a number.
    """
    flank = PLASMID_FLANK_5PRIME if plasmid_path is None else read_plasmid_flank(plasmid_path)
    path = os.fspath(path)
    frame, lines = read_tsv(path, header=False, column_names=["sequence", "expression", "fold"], what=FILE_FORMAT)
    sequences = frame["sequence"].tolist()
    check_sequences(sequences, lines, path, allowed="ACGTN", column="sequence")
    targets = {}
    if "expression" in frame.columns and (require_targets or (frame["expression"] != "").any()):
        expression = numeric_column(frame, "expression", lines, path)
        frame["expression"] = expression
        singleton = singleton_flags(expression)
        targets = {"expression": expression.astype(np.float32)[:, None], "bins": soft_bin_targets(expression)}
    elif require_targets:
        raise InputError(f"{path} line {lines[0]}: no expression column. Fix: give {FILE_FORMAT}, or "
                         "pass require_targets=False to encode sequences for prediction.")
    else:
        singleton = np.zeros(len(frame), dtype=bool)
    frame["is_singleton"] = singleton
    frame[REVERSE_COMPLEMENT_COPY] = False
    encoded = _encode_padded(pad_with_plasmid(sequences, flank), 0.0, singleton, dtype)
    return SequenceTable(encoded, targets, frame, TASK, list(TASK_NAMES), ALPHABET, CHANNEL_NAMES, source=path,
                         lines=lines)


def encode_dream_yeast(sequences: Sequence[str], is_reverse: bool = False, is_singleton=0,
                       plasmid_flank: str = PLASMID_FLANK_5PRIME, dtype=np.float32) -> np.ndarray:
    """Encodes reads for prediction: padding, one-hot AGCT, ``is_reverse`` and ``is_singleton`` channels.

    Args:
        sequences: n reads as in the training files (starting with the 5' adaptor).
        is_reverse: True encodes the reverse complement of each padded read with ``is_reverse`` = 1.
        is_singleton: the singleton flag, 0 at prediction (scalar or ``(n,)``).
        plasmid_flank: the 150 plasmid bases 5' of the insert site.
        dtype: dtype of the array.

    Returns:
        ``(n, 150, 6)``.

    Raises:
        InputError: a sequence is empty or has a character outside ACGTN (named by its 0-based index).
    """
    sequences = list(sequences)
    check_sequences(sequences, np.arange(len(sequences)), "sequences", allowed="ACGTN", row_label="index")
    encoded = _encode_padded(pad_with_plasmid(sequences, plasmid_flank), 0.0, is_singleton, dtype)
    return _reverse_complement(encoded) if is_reverse else encoded


def _reverse_complement(encoded: np.ndarray) -> np.ndarray:
    flipped = reverse_complement_one_hot(encoded, ALPHABET)
    flipped[:, :, IS_REVERSE_CHANNEL] = 1 - encoded[:, :, IS_REVERSE_CHANNEL]
    return flipped


def with_reverse_complements(table: SequenceTable) -> SequenceTable:
    """The rows followed by the reverse complements of their padded sequences (2n rows).

    The copies have ``is_reverse`` flipped (0 -> 1), the same ``is_singleton`` and the same targets,
    and ``reverse_complement_copy`` = True in the table.
    """
    copies = table.table.copy()
    copies[REVERSE_COMPLEMENT_COPY] = True
    return table.appended(_reverse_complement(table.sequences), copies)


def test_time_inputs(sequences: Sequence[str], dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Both orientations for prediction averaging: ``(forward, reverse)``, each ``(n, 150, 6)``, is_singleton 0."""
    forward = encode_dream_yeast(sequences, dtype=dtype)
    return forward, _reverse_complement(forward)


test_time_inputs.__test__ = False  # a library function, not a pytest test


def split_dream_yeast(table: SequenceTable, valid_fraction: float = 0.1, test_fraction: float = 0.0,
                      seed: int = 0) -> SplitIndices:
    """A random held-out split of the rows (apply before augmentation so both orientations stay together).

    Args:
        table: the loaded rows.
        valid_fraction: the share held out for validation (rounded down to whole rows).
        test_fraction: the share held out for testing (rounded down to whole rows).
        seed: seed of the permutation (numpy default_rng).

    Returns:
        SplitIndices of sorted row positions.
    """
    if valid_fraction < 0 or test_fraction < 0 or valid_fraction + test_fraction >= 1:
        raise InputError(f"valid_fraction={valid_fraction}, test_fraction={test_fraction}: each must be >= 0 "
                         "and their sum below 1.")
    n = len(table)
    order = np.random.default_rng(seed).permutation(n)
    n_valid, n_test = int(n * valid_fraction), int(n * test_fraction)
    return SplitIndices(train=np.sort(order[n_valid + n_test:]), valid=np.sort(order[:n_valid]),
                        test=np.sort(order[n_valid:n_valid + n_test]))
