"""Contribution scores written as genome tracks (bigWig) and as arrays (HDF5).

bigWig: one value per base, the contribution of the base present (hypothetical score x one-hot,
summed over the four bases). Windows may overlap (nearby peaks); each base then takes the value of
the window whose centre (summit) is nearest, ties going to the later window, as ChromBPNet's
``importance_hdf5_to_bigwig`` does. Identical windows are written once. Chromosome sizes come from
the FASTA, so the bigWig header lists every FASTA chromosome in FASTA order.

HDF5 (ChromBPNet's layout, readable by its tools and by TF-MoDISco): ``raw/seq`` int8 one-hot,
``shap/seq`` float32 hypothetical scores, ``projected_shap/seq`` float32 scores x one-hot, each
``(n, 4, length)`` (channels before positions, as TF-MoDISco expects), plus ``coords/chrom``,
``coords/start``, ``coords/end`` (the 0-based half-open windows) and ``coords/summit``. Channel
order is in the ``alphabet`` attribute of the file.
"""

from __future__ import annotations

import os
import pathlib

import h5py
import numpy as np
import pyBigWig

from data_prep.outputs import atomic_path, run_isolated


def owned_segments(starts: np.ndarray, centres: np.ndarray, length: int) -> list[tuple[int, int, int]]:
    """For windows of one chromosome, the part of each that its bigWig values come from.

    Args:
        starts: ``(n,)`` 0-based window starts; each window is ``[start, start + length)``.
        centres: ``(n,)`` the position each window is centred on (its summit).
        length: window length.

    Returns:
        ``[(window index, first, end), ...]`` sorted by position, non-overlapping: each base covered
        by any window belongs to the window whose centre is nearest (ties: the later centre).
        Later duplicates of a centre get nothing.
    """
    order = np.argsort(centres, kind="stable")
    kept: list[int] = []
    for index in order.tolist():
        if not kept or centres[kept[-1]] != centres[index]:
            kept.append(index)
    segments = []
    for rank, index in enumerate(kept):
        first, end = int(starts[index]), int(starts[index]) + length
        if rank > 0:  # a base at the midpoint or later is at least as near to this centre
            first = max(first, -(-(int(centres[kept[rank - 1]]) + int(centres[index])) // 2))
        if rank + 1 < len(kept):
            end = min(end, -(-(int(centres[index]) + int(centres[kept[rank + 1]])) // 2))
        if end > first:
            segments.append((index, first, end))
    return segments


def write_contribution_bigwig(path: str | os.PathLike, chroms: np.ndarray, starts: np.ndarray,
                              centres: np.ndarray, values: np.ndarray, chrom_sizes: dict[str, int]) -> None:
    """Write per-base values of windows as a bigWig (see the module docstring for overlaps).

    Args:
        path: the ``.bw`` file (written under a temporary name, then renamed).
        chroms: ``(n,)`` each window's chromosome.
        starts: ``(n,)`` each window's 0-based start.
        centres: ``(n,)`` each window's summit.
        values: ``(n, length)`` one value per base of each window.
        chrom_sizes: chromosome -> length, in the order of the header (the FASTA's).
    """
    chroms, starts, centres = np.asarray(chroms), np.asarray(starts), np.asarray(centres)
    values = np.asarray(values, dtype=np.float64)
    def write(temporary: pathlib.Path) -> None:
        bigwig = pyBigWig.open(str(temporary), "w")
        try:
            bigwig.addHeader(list(chrom_sizes.items()), maxZooms=10)
            for chrom in chrom_sizes:
                rows = np.flatnonzero(chroms == chrom)
                if not len(rows):
                    continue
                for local, first, end in owned_segments(starts[rows], centres[rows], values.shape[1]):
                    row = rows[local]
                    offset = first - int(starts[row])
                    bigwig.addEntries(chrom, first, values=values[row, offset:offset + end - first].tolist(),
                                      span=1, step=1)
        finally:
            bigwig.close()

    # libBigWig aborts the process on a failed write: it writes in a child process (data_prep.outputs.isolated)
    with atomic_path(path) as temporary:
        run_isolated(lambda: write(temporary), temporary, path)


def write_contribution_hdf5(path: str | os.PathLike, onehot: np.ndarray, hypothetical: np.ndarray, chroms,
                            starts, centres, alphabet: str, attributes: dict | None = None) -> None:
    """Write one-hot, hypothetical and projected scores with coordinates (ChromBPNet's layout).

    Args:
        path: the ``.h5`` file (written under a temporary name, then renamed).
        onehot: ``(n, length, 4)`` the windows' bases.
        hypothetical: ``(n, length, 4)`` hypothetical contribution scores.
        chroms: ``(n,)`` each window's chromosome.
        starts: ``(n,)`` each window's 0-based start.
        centres: ``(n,)`` each window's summit.
        alphabet: channel order, stored as an attribute.
        attributes: more file attributes (method, output, models, seed, n_references, steps).
    """
    onehot = np.asarray(onehot)[..., :4]
    hypothetical = np.asarray(hypothetical, dtype=np.float32)
    starts = np.asarray(starts, dtype=np.int64)
    with atomic_path(path) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.create_dataset("raw/seq", data=np.transpose(onehot, (0, 2, 1)).astype(np.int8), compression="gzip")
            handle.create_dataset("shap/seq", data=np.transpose(hypothetical, (0, 2, 1)), compression="gzip")
            handle.create_dataset("projected_shap/seq", data=np.transpose(hypothetical * onehot, (0, 2, 1)),
                                  compression="gzip")
            handle.create_dataset("coords/chrom", data=np.asarray(chroms, dtype="S"))
            handle.create_dataset("coords/start", data=starts)
            handle.create_dataset("coords/end", data=starts + onehot.shape[1])
            handle.create_dataset("coords/summit", data=np.asarray(centres, dtype=np.int64))
            handle.attrs["alphabet"] = alphabet
            handle.attrs["layout"] = "(regions, channels, positions); projected_shap = shap * raw"
            for key, value in (attributes or {}).items():
                handle.attrs[key] = value
