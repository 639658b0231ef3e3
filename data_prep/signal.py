"""Per-base signal (Tn5 insertion counts) from bigWig files through pyBigWig; missing data reads as 0."""

from __future__ import annotations

import contextlib
import os
import pathlib

import numpy as np
import pyBigWig

from data_prep.errors import InputError


def open_signal(signal) -> "pyBigWig.pyBigWig":
    """Open a bigWig file for reading, or pass an already opened pyBigWig object through."""
    if hasattr(signal, "values") and hasattr(signal, "chroms"):
        return signal
    path = pathlib.Path(os.fspath(signal))
    if not path.is_file():
        raise InputError(f"bigWig {path} does not exist; give the path of the per-base counts bigWig")
    try:
        handle = pyBigWig.open(str(path))
    except RuntimeError as error:
        handle = None
        reason = str(error)
    else:
        reason = "not a bigWig file"
    if handle is None or not handle.isBigWig():
        raise InputError(f"{path} cannot be read as a bigWig ({reason}); give a bigWig of per-base counts "
                         "(e.g. made with bedGraphToBigWig)")
    return handle


def signal_sizes(signal) -> dict[str, int]:
    """Chromosome name -> length (bp) in an open bigWig's header."""
    return dict(signal.chroms())


def read_signal(signal, chrom: str, start: int, end: int) -> np.ndarray:
    """Per-base values of ``chrom`` ``[start, end)`` as float32, with NaN (no data) read as 0."""
    values = np.asarray(signal.values(chrom, int(start), int(end), numpy=True), dtype=np.float32)
    values[np.isnan(values)] = 0.0
    return values


def signal_name(signal) -> str:
    """A file name for messages (pyBigWig objects do not keep their path)."""
    return str(signal) if isinstance(signal, (str, os.PathLike)) else "the bigWig"


@contextlib.contextmanager
def opened_signal(signal):
    """Context manager around :func:`open_signal` that closes only what it opened.

    Context manager around :func:`open_signal` (``None`` passes through) that closes the bigWig only if it opened it.
    """
    handle = open_signal(signal) if signal is not None else None
    try:
        yield handle
    finally:
        if handle is not None and handle is not signal:
            handle.close()
