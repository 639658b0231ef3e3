"""Read the contribution HDF5 that ``dream-keras contribs`` writes, checked, cropped to TF-MoDISco's window.

The layout is ChromBPNet's (:mod:`dream_keras.interpret.tracks`): ``raw/seq`` one-hot and
``shap/seq`` hypothetical scores, both ``(regions, 4, length)``. TF-MoDISco reads the central
``window`` bases of each region, as ``modisco motifs -w`` does.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np

from data_prep.errors import InputError

LAYOUT = "raw/seq and shap/seq, each (regions, 4, length), as `dream-keras contribs` writes"


@dataclasses.dataclass
class ContributionWindows:
    """The central window of every region of a contributions file.

    Attributes:
        path: the file read.
        onehot: ``(n, window, 4)`` float32 one-hot bases.
        hypothetical: ``(n, window, 4)`` float32 hypothetical contributions.
        length: the regions' full length in the file.
        start: first base of the window within a region.
        attributes: the file's attributes (method, output, models) as plain values.
    """

    path: pathlib.Path
    onehot: np.ndarray
    hypothetical: np.ndarray
    length: int
    start: int
    attributes: dict


def window_bounds(length: int, window: int) -> tuple[int, int]:
    """``(start, end)`` of the central ``window`` bases of a region of ``length`` bases.

    The ``modisco motifs`` rule: ``length // 2 - window // 2`` onwards.
    """
    start = length // 2 - window // 2
    return start, start + window


def _plain(value):
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.ndarray):
        return [_plain(item) for item in value.tolist()]
    return value.item() if hasattr(value, "item") else value


def read_contribution_windows(path: str | os.PathLike, window: int) -> ContributionWindows:
    """Read and check a contributions file; keep the central ``window`` bases.

    Args:
        path: an HDF5 file in the layout of ``dream-keras contribs`` (``raw/seq``, ``shap/seq``).
        window: bases per region kept for TF-MoDISco (centred).

    Returns:
        :class:`ContributionWindows`.

    Raises:
        InputError: the file is missing or not HDF5; it lacks ``raw/seq`` or ``shap/seq``; they
            are not ``(regions, 4, length)`` of one shape; the regions are shorter than
            ``window``; it holds no region; ``raw/seq`` is not one-hot; scores are not finite.
    """
    import h5py

    path = pathlib.Path(path)
    if window < 1:
        raise InputError(f"the window must be at least 1 bp, not {window}")
    if not path.is_file():
        raise InputError(f"contributions file {path} does not exist; give the .h5 that `dream-keras contribs` writes")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise InputError(f"{path} is not an HDF5 file ({error}); give the .h5 that `dream-keras contribs` "
                         "writes") from None
    with handle:
        missing = [name for name in ("raw/seq", "shap/seq") if name not in handle]
        if missing:
            raise InputError(f"{path} has no {' and no '.join(missing)} (it holds {sorted(handle.keys())}); "
                             f"expected {LAYOUT}")
        raw, shap = handle["raw/seq"], handle["shap/seq"]
        if raw.ndim != 3 or raw.shape != shap.shape:
            raise InputError(f"{path}: raw/seq is {raw.shape} and shap/seq {shap.shape}; expected {LAYOUT}")
        n, channels, length = raw.shape
        if channels != 4:
            found = ("(regions, positions, 4): positions before channels" if length == 4 else
                     f"{channels} entries on axis 1, where the 4 channels belong")
            raise InputError(f"{path}: arrays of shape {raw.shape} hold {found}; expected {LAYOUT}")
        if n == 0:
            raise InputError(f"{path} holds no region")
        if length < window:
            raise InputError(f"{path}: regions are {length} bp long, shorter than the {window} bp window TF-MoDISco "
                             f"reads; pass a window of at most {length} bp (--window)")
        start, end = window_bounds(length, window)
        onehot = np.transpose(raw[:, :, start:end], (0, 2, 1)).astype(np.float32)
        hypothetical = np.transpose(shap[:, :, start:end], (0, 2, 1)).astype(np.float32)
        attributes = {key: _plain(value) for key, value in handle.attrs.items()}
    if not np.isin(onehot, (0.0, 1.0)).all() or (onehot.sum(axis=2) > 1).any():
        raise InputError(f"{path}: raw/seq is not one-hot (values other than 0 and 1, or several bases at one "
                         f"position); expected {LAYOUT}")
    if not np.isfinite(hypothetical).all():
        raise InputError(f"{path}: shap/seq holds NaN or infinite scores; compute the contributions again")
    return ContributionWindows(path, onehot, hypothetical, int(length), int(start), attributes)
