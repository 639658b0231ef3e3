"""Estimate the strand shifts already applied to reads, from the sequence around their 5' ends.

The official method (ChromBPNet ``auto_shift_detect``): take a uniform sample of reads, build the
base-frequency matrix of the 40 bp centred on the 5' ends of + reads (``start - 20 .. start + 20``)
and of - reads (``end - 20 .. end + 20``), scale both and the enzyme's reference matrices by their
information content, slide each 20 bp reference matrix along the 40 bp matrix, and read the shift
off the best offset: for ATAC ``14 - offset`` (+ strand) and ``5 - offset`` (- strand), for DNase
``10 - offset`` on both. Every reference matrix of a strand must give the same shift, and the
pair must be one the enzyme's data comes in (ATAC: 0/0 or +3..+5 / -4..-6; DNase 0/0 or 0/+1);
otherwise the evidence is too weak to trust, and the user passes the shift by hand.
"""

from __future__ import annotations

import dataclasses
import itertools
import pathlib

import numpy as np

from data_prep.errors import InputError
from data_prep.reads.read_ends import ReadEnds

MOTIF_DIR = pathlib.Path(__file__).resolve().parents[1] / "data" / "motifs"
REFERENCE_FILES = {"ATAC": MOTIF_DIR / "ATAC.ref.motifs.txt", "DNASE": MOTIF_DIR / "DNASE.ref.motifs.txt"}
# Offset of the best match when the reads are unshifted (0/0), per data type and strand.
UNSHIFTED_OFFSET = {"ATAC": {"+": 14, "-": 5}, "DNASE": {"+": 10, "-": 10}}
STANDARD_SHIFTS = {"ATAC": {(0, 0), *itertools.product([3, 4, 5], [-4, -5, -6])}, "DNASE": {(0, 0), (0, 1)}}
HALF_WINDOW = 20
PSEUDOCOUNT = 0.001
MIN_READS_PER_STRAND = 1000
HOW_TO_PASS = ("pass the shift already applied to the reads by hand with --plus-shift and --minus-shift "
               "(e.g. --plus-shift 0 --minus-shift 0 for reads straight from an aligner; "
               "--plus-shift 4 --minus-shift -5 for Cell Ranger ATAC fragments)")


@dataclasses.dataclass(frozen=True)
class ShiftEstimate:
    """The estimated input shift and the evidence behind it.

    Attributes:
        plus: shift already applied to + strand reads (bp).
        minus: shift already applied to - strand reads (bp).
        plus_votes: reference matrix name -> its + strand shift.
        minus_votes: reference matrix name -> its - strand shift.
        reads: (+ reads, - reads) used.
    """

    plus: int
    minus: int
    plus_votes: dict
    minus_votes: dict
    reads: tuple[int, int]


def read_reference_matrices(path: str | pathlib.Path) -> dict[str, dict[str, np.ndarray]]:
    """Read a reference motif file: ``>name_plus`` / ``>name_minus`` headers, then rows of 4 frequencies.

    Returns:
        ``{"+": {name: (L, 4) array}, "-": {...}}``.
    """
    matrices: dict[str, dict[str, list]] = {"+": {}, "-": {}}
    current = None
    for number, line in enumerate(pathlib.Path(path).read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith(">"):
            name = line[1:]
            strand = "+" if name.endswith("_plus") else "-" if name.endswith("_minus") else None
            if strand is None:
                raise InputError(f"{path} line {number}: a reference motif name ends in _plus or _minus, not {name!r}")
            current = matrices[strand].setdefault(name, [])
        elif current is None:
            raise InputError(f"{path} line {number}: matrix rows before the first '>name' line")
        else:
            current.append([float(value) for value in line.split()])
    return {strand: {name: np.array(rows) for name, rows in table.items()} for strand, table in matrices.items()}


def information_scaled(matrix: np.ndarray) -> np.ndarray:
    """A (L, 4) frequency matrix times each row's information content (bits, uniform background)."""
    matrix = matrix / matrix.sum(axis=-1, keepdims=True)
    bits = (np.log2((matrix + PSEUDOCOUNT) / (1 + 4 * PSEUDOCOUNT)) * matrix).sum(axis=1) + 2.0
    return matrix * bits[:, None]


def best_offset(reference: np.ndarray, matrix: np.ndarray) -> int:
    """Offset (first best) at which ``reference`` (l, 4) best matches a slice of ``matrix`` (L, 4)."""
    scores = [float((reference * matrix[i:i + len(reference)]).sum()) for i in range(len(matrix) - len(reference) + 1)]
    return int(np.argmax(scores))


def read_end_matrices(sample: list[ReadEnds], genome) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Base frequencies (40, 4) around the 5' ends of the + and - reads of ``sample``.

    Windows: ``[five - 20, five + 20)`` for + reads, ``[five + 1 - 20, five + 1 + 20)`` (the read end
    +- 20) for - reads; windows that leave the chromosome are skipped; N counts as no base.

    Returns:
        (+ matrix, - matrix, (number of + windows, number of - windows)).
    """
    lookup = np.full(256, 4, dtype=np.int8)
    for code, base in enumerate(b"ACGT"):
        lookup[base] = code
        lookup[base + 32] = code  # lower case (soft-masked) bases count too
    totals = {False: np.zeros((2 * HALF_WINDOW, 5)), True: np.zeros((2 * HALF_WINDOW, 5))}
    used = {False: 0, True: 0}
    for ends in sample:
        record = genome[ends.chrom]
        size = len(record)
        for is_minus in (False, True):
            centre = ends.five_prime[ends.minus == is_minus] + (1 if is_minus else 0)
            centre = centre[(centre - HALF_WINDOW >= 0) & (centre + HALF_WINDOW <= size)]
            if not len(centre):
                continue
            # One fetch per read: the sample is small, and whole chromosomes need not be loaded.
            text = "".join(str(record[int(c) - HALF_WINDOW:int(c) + HALF_WINDOW]) for c in centre)
            window = lookup[np.frombuffer(text.encode(), dtype=np.uint8)].reshape(len(centre), 2 * HALF_WINDOW)
            for position in range(2 * HALF_WINDOW):
                totals[is_minus][position] += np.bincount(window[:, position], minlength=5)
            used[is_minus] += len(centre)
    plus, minus = (totals[m][:, :4] / np.maximum(totals[m][:, :4].sum(axis=1, keepdims=True), 1) for m in (False, True))
    return plus, minus, (used[False], used[True])


def shift_votes(data_type: str, plus_matrix: np.ndarray, minus_matrix: np.ndarray,
                references: dict[str, dict[str, np.ndarray]]) -> tuple[dict, dict]:
    """Each reference matrix's shift for each strand: ``({name: shift}, {name: shift})``."""
    offsets = UNSHIFTED_OFFSET[data_type]
    votes = []
    for strand, matrix in (("+", plus_matrix), ("-", minus_matrix)):
        scaled = information_scaled(matrix)
        votes.append({name: offsets[strand] - best_offset(information_scaled(reference), scaled)
                      for name, reference in references[strand].items()})
    return votes[0], votes[1]


def estimate_shift(sample: list[ReadEnds], genome, data_type: str) -> ShiftEstimate:
    """Estimate the input shift of sampled reads (see the module docstring).

    Args:
        sample: sampled reads on chromosomes of ``genome`` (see :class:`data_prep.reads.sampling.ReadSample`).
        genome: open ``pyfaidx.Fasta``.
        data_type: ``"ATAC"`` or ``"DNASE"``.

    Raises:
        InputError: too few reads, reference matrices that disagree, or a shift the enzyme's data does not
            come in (e.g. ATAC reads given as DNASE); the message says how to pass the shift by hand.
    """
    plus_matrix, minus_matrix, reads = read_end_matrices(sample, genome)
    if min(reads) < MIN_READS_PER_STRAND:
        raise InputError(f"only {reads[0]} + strand and {reads[1]} - strand reads could be sampled on the genome's "
                         f"chromosomes; at least {MIN_READS_PER_STRAND} of each are needed to estimate the shift. "
                         f"Check that the reads match the genome, or {HOW_TO_PASS}")
    plus_votes, minus_votes = shift_votes(data_type, plus_matrix, minus_matrix, read_reference_matrices(
        REFERENCE_FILES[data_type]))
    plus_shifts, minus_shifts = set(plus_votes.values()), set(minus_votes.values())
    if len(plus_shifts) == 1 and len(minus_shifts) == 1:
        shift = (plus_shifts.pop(), minus_shifts.pop())
        if shift in STANDARD_SHIFTS[data_type]:
            return ShiftEstimate(shift[0], shift[1], plus_votes, minus_votes, reads)
        problem = f"the estimated shift {shift[0]:+d}/{shift[1]:+d} is not one {data_type} data comes in"
    else:
        problem = (f"the {data_type} reference motifs disagree (+ strand shifts {sorted(plus_shifts)}, "
                   f"- strand shifts {sorted(minus_shifts)}): the evidence is weak")
    other = "DNASE" if data_type == "ATAC" else "ATAC"
    other_plus, other_minus = shift_votes(other, plus_matrix, minus_matrix,
                                          read_reference_matrices(REFERENCE_FILES[other]))
    if len(set(other_plus.values())) == 1 and len(set(other_minus.values())) == 1:
        other_shift = (next(iter(other_plus.values())), next(iter(other_minus.values())))
        if other_shift in STANDARD_SHIFTS[other]:
            problem += (f"; the reads match the {other} enzyme's motifs "
                        f"(shift {other_shift[0]:+d}/{other_shift[1]:+d}), "
                        f"so they look like {other} data: check --data-type")
    raise InputError(f"cannot estimate the read shift from {reads[0]} + and {reads[1]} - strand reads: {problem}. "
                     f"If the data type is right, {HOW_TO_PASS}")
