"""Whole chromosomes of a FASTA as byte arrays, one held at a time.

Variant windows are cut from the chromosome in memory (one gather for a chunk of SNVs) instead of
one FASTA read per variant, and the variants are taken chromosome by chromosome, so each
chromosome is read once per pass. The bytes keep the FASTA's case: soft-masked (lower-case) bases
matter to the official scorer's dinucleotide shuffles, which treat ``a`` and ``A`` as different
letters; the one-hot encoding (:func:`encode`) reads both as the same base.
"""

from __future__ import annotations

import os

import numpy as np
import pyfaidx

from data_prep.genome import genome_sizes, open_genome


class ChromosomeReader:
    """Read chromosomes of a FASTA (``.fai`` index checked or built as :func:`data_prep.genome.open_genome` does).

    ``sizes`` maps every chromosome to its length; :meth:`sequence` returns one chromosome as a
    ``uint8`` array and keeps only the last one read. Use as a context manager (closes the FASTA).
    """

    def __init__(self, genome: str | os.PathLike):
        checked = open_genome(genome)  # checks (or builds) the index and names a bad FASTA
        self.path = str(checked.filename)
        self.sizes = genome_sizes(checked)
        checked.close()
        self._fasta = pyfaidx.Fasta(self.path, as_raw=True, sequence_always_upper=False, rebuild=False)
        self._name: str | None = None
        self._bases: np.ndarray | None = None

    def sequence(self, chrom: str) -> np.ndarray:
        """The bases of ``chrom`` as ``uint8`` ASCII codes (case as in the FASTA)."""
        if chrom != self._name:
            self._bases = None  # release the previous chromosome before reading the next
            text = self._fasta[chrom][:]
            self._bases = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
            self._name = chrom
        return self._bases

    def close(self) -> None:
        """Release the chromosome held and close the FASTA."""
        self._bases = None
        self._fasta.close()

    def __enter__(self) -> "ChromosomeReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def encoding_table(alphabet: str = "ACGT") -> np.ndarray:
    """``(256, 4)`` float32: the one-hot row of each ASCII code (both cases; any other letter is all zero)."""
    table = np.zeros((256, len(alphabet)), dtype=np.float32)
    for channel, letter in enumerate(alphabet.upper()):
        table[ord(letter), channel] = 1.0
        table[ord(letter.lower()), channel] = 1.0
    return table


def encode(windows: np.ndarray, table: np.ndarray) -> np.ndarray:
    """One-hot float32 ``(n, L, 4)`` of ``uint8`` windows ``(n, L)`` through :func:`encoding_table`."""
    return table[windows]


__all__ = ["ChromosomeReader", "encode", "encoding_table"]
