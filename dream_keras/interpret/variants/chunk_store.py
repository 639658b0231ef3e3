"""Finished chunks of a run, one ``.npz`` file each, so that a killed run resumes where it stopped.

A chunk (a run of variants, shuffled variants or peaks on one chromosome) is written as
``OUT/logs/chunks/<kind>.<index>.npz`` through a temporary name and renamed when complete: the
file exists exactly when the chunk is done. ``--resume`` skips those and scores the rest; the
output tables are assembled from the chunk files at the end, so a resumed run writes the same
bytes as an uninterrupted one. The folder is deleted once the outputs are written.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from data_prep.outputs import atomic_path

KINDS = ("peaks", "shuffled", "variants")


class ChunkStore:
    """The chunk files of one run, under ``folder`` (inside the run folder ``root``)."""

    def __init__(self, folder: str | os.PathLike, root: str | os.PathLike | None = None):
        self.folder = pathlib.Path(folder)
        #: the run folder the chunks lie in, which bounds their deletion (default: the chunk folder itself)
        self.root = pathlib.Path(root) if root is not None else self.folder

    def path(self, kind: str, index: int) -> pathlib.Path:
        """The file of chunk ``index`` of ``kind`` (``peaks``, ``shuffled`` or ``variants``)."""
        if kind not in KINDS:
            raise ValueError(f"chunk kind {kind!r} is not one of {KINDS}")
        return self.folder / f"{kind}.{index:06d}.npz"

    def has(self, kind: str, index: int) -> bool:
        """Whether the chunk is done (its file exists)."""
        return self.path(kind, index).is_file()

    def save(self, kind: str, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Store a finished chunk's arrays (through a temporary name, renamed when written)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path(kind, index)) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays)

    def load(self, kind: str, index: int) -> dict[str, np.ndarray]:
        """The arrays of a finished chunk, in stored order."""
        with np.load(self.path(kind, index), allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}

    def remove(self) -> None:
        """Delete the chunk files (once the outputs are written), and their folder when nothing else is in it.

        Through :mod:`data_prep.outputs.containment`: each file is checked to lie inside the run folder.
        """
        from data_prep.outputs.containment import delete_file, remove_empty_folder

        if not self.folder.is_dir():
            return
        for kind in KINDS:
            for path in sorted(self.folder.glob(f"{kind}.*.npz")):
                delete_file(self.root, path)
        remove_empty_folder(self.root, self.folder)


def model_key(column: str, model: int) -> str:
    """The key of one model's column in a chunk file."""
    return f"{column}@{model}"


def model_columns(arrays: dict[str, np.ndarray], model: int) -> dict[str, np.ndarray]:
    """The columns of ``model`` from a chunk's arrays, in stored order."""
    suffix = f"@{model}"
    return {key[: -len(suffix)]: value for key, value in arrays.items() if key.endswith(suffix)}


__all__ = ["ChunkStore", "KINDS", "model_columns", "model_key"]
