"""Before a command writes, the leftovers of killed dream-keras processes where it writes are cleared.

The folders are those the command's output options name: ``--out`` (a folder: it, and 4 levels
below, e.g. ``OUT/fold_0/logs/checkpoint``, when it holds a dream-keras manifest; a file or prefix:
its folder), ``--bigwig-out``,
``--h5-out``, and ``--base-dir/--name`` of ``export``. In each, interrupted run-folder swaps are
finished first (:func:`dream_keras.training.staging.recover_swaps`), then dead processes' temporary
entries are removed (:func:`data_prep.stale_temporaries.remove_stale_temporaries`), in one line.
"""

from __future__ import annotations

import argparse
import pathlib

#: how deep a run folder's temporaries can lie (OUT/fold_N/logs/checkpoint/.tmp-...)
RUN_FOLDER_DEPTH = 4


def output_folders(args: argparse.Namespace) -> dict[pathlib.Path, int]:
    """``{folder: depth}`` of the folders the parsed arguments write into (those that exist)."""
    folders: dict[pathlib.Path, int] = {}

    def add(folder: pathlib.Path, depth: int) -> None:
        folder = folder.absolute()
        if folder.is_dir():
            folders[folder] = max(depth, folders.get(folder, 0))

    out = getattr(args, "out", None)
    if isinstance(out, str) and out:
        path = pathlib.Path(out)
        if path.is_dir():
            # subfolders only of a dream-keras output folder (it has a manifest), never of any folder
            add(path, RUN_FOLDER_DEPTH if (path / "logs" / "manifest.json").is_file() else 0)
        add(path.absolute().parent, 0)
    for key in ("bigwig_out", "h5_out"):
        value = getattr(args, key, None)
        if isinstance(value, str) and value:
            add(pathlib.Path(value).absolute().parent, 0)
    base_dir, name = getattr(args, "base_dir", None), getattr(args, "name", None)
    if isinstance(base_dir, str) and isinstance(name, str):
        add(pathlib.Path(base_dir) / name, 0)
    return folders


def clean_output_folders(args: argparse.Namespace) -> list[str]:
    """Finish interrupted swaps and remove stale temporaries where ``args`` write; returns what was done."""
    from data_prep.stale_temporaries import remove_stale_temporaries
    from dream_keras.training.staging import recover_swaps

    done = []
    folders = output_folders(args)
    for folder in folders:
        done += recover_swaps(folder)
    for folder, depth in folders.items():
        done += remove_stale_temporaries(folder, depth=depth)
    return done


__all__ = ["clean_output_folders", "output_folders"]
