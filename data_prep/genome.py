"""Reference genome access through pyfaidx (soft-masked bases read as upper case)."""

from __future__ import annotations

import contextlib
import os
import pathlib

import pyfaidx

from data_prep.errors import InputError
from data_prep.fasta_index import check_fasta_index


def open_genome(genome: str | os.PathLike | pyfaidx.Fasta) -> pyfaidx.Fasta:
    """Open a FASTA file (``.fai`` index built if missing) or pass an open ``pyfaidx.Fasta`` through.

    Sequences are returned as plain upper-case strings (``as_raw``, ``sequence_always_upper``).
    A stale index is rebuilt, except where its folder is read-only (an installed package's data).
    """
    if isinstance(genome, pyfaidx.Fasta):
        return genome
    path = pathlib.Path(genome)
    if not path.is_file():
        raise InputError(f"genome FASTA {path} does not exist; give the path of the reference FASTA file")
    index = pathlib.Path(str(path) + ".fai")
    writable = os.access(path.parent, os.W_OK)
    try:
        fasta = pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=True,
                              rebuild=writable or not index.exists())
    except (pyfaidx.FastaIndexingError, pyfaidx.IndexNotFoundError, ValueError) as error:
        raise InputError(f"genome FASTA {path} cannot be indexed by pyfaidx ({error}); "
                         "check that it is an uncompressed or bgzip-compressed FASTA file") from error
    try:
        # pyfaidx rebuilds only an index older than the FASTA: one copied with a cut file is trusted
        check_fasta_index(path, index)
    except InputError:
        fasta.close()
        raise
    return fasta


def genome_sizes(genome: pyfaidx.Fasta) -> dict[str, int]:
    """Chromosome name -> length (bp) of an open FASTA, in file order."""
    return {name: len(genome[name]) for name in genome.keys()}


def fetch_sequence(genome: pyfaidx.Fasta, chrom: str, start: int, end: int) -> str:
    """The bases ``[start, end)`` (0-based, half-open) of ``chrom`` as an upper-case string."""
    return str(genome[chrom][start:end]).upper()


def genome_name(genome) -> str:
    """A file name for messages: the FASTA path of an open ``pyfaidx.Fasta``, or the path itself."""
    return str(getattr(genome, "filename", genome))


@contextlib.contextmanager
def opened_genome(genome):
    """Context manager around :func:`open_genome` that closes the FASTA only if it opened it."""
    handle = open_genome(genome)
    try:
        yield handle
    finally:
        if handle is not genome:
            handle.close()
