"""TF Serving's model folder layout ``BASE/NAME/VERSION/`` and writing a version without a half state.

TF Serving watches ``BASE/NAME`` and loads the children whose names parse as integers
(``file_system_storage_path_source.cc``: other names are skipped), the highest by default. A version is
therefore written under a dot-name that never parses (``.tmp-<pid>-<token>-N``,
:func:`data_prep.outputs.atomic_path`) and renamed to its number only when complete and checked whole.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import pathlib
import re
from typing import Iterator

from data_prep.errors import InputError
from data_prep.outputs import atomic_path

_VERSION_NAME = re.compile(r"^[0-9]+$")


def check_model_name(name: str) -> str:
    """``name`` if it is one plain folder name (the servable's name in TF Serving's URLs)."""
    name = str(name)
    if not name or name in {".", ".."} or "/" in name or "\\" in name or name.startswith("."):
        raise InputError(f"model name {name!r} must be one folder name (no '/', not starting with '.'), "
                         "e.g. 'chrombpnet_k562'; TF Serving serves it as /v1/models/<name>")
    return name


def existing_versions(model_dir: str | os.PathLike) -> dict[int, pathlib.Path]:
    """The version folders in ``model_dir`` (all-digit names; ``007`` is version 7), by number."""
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return {}
    return {int(child.name): child for child in model_dir.iterdir()
            if _VERSION_NAME.match(child.name) and child.is_dir()}


def next_version(model_dir: str | os.PathLike) -> int:
    """One more than the highest version in ``model_dir``; 1 when there is none."""
    return max(existing_versions(model_dir), default=0) + 1


def check_new_version(model_dir: pathlib.Path, version) -> int:
    """``version`` as an int, if it is a non-negative integer not yet in ``model_dir``.

    Raises:
        InputError: not a non-negative integer.
        FileExistsError: the version exists (it is never overwritten).
    """
    is_number = isinstance(version, numbers.Integral) and not isinstance(version, bool) and version >= 0
    is_digits = isinstance(version, str) and _VERSION_NAME.match(version.strip()) is not None
    if not (is_number or is_digits):
        raise InputError(f"version {version!r} must be a non-negative integer (TF Serving's version folders "
                         "are numbers); omit it to take the next one")
    number = int(version)
    present = existing_versions(model_dir)
    if number in present:
        raise FileExistsError(f"{present[number]} already exists; versions are never overwritten. Pass another "
                              f"--version, or omit it to write version {next_version(model_dir)}")
    return number


@contextlib.contextmanager
def staged_version(model_dir: str | os.PathLike, version: int) -> Iterator[pathlib.Path]:
    """Yield a staging folder path in ``model_dir`` (not created).

    Rename it to ``model_dir/version`` when the block succeeds and every file in it is whole.

    On an exception, or when the version appeared meanwhile (FileExistsError), the staging folder is
    removed and no version folder is left.
    """
    model_dir = pathlib.Path(model_dir)
    with atomic_path(model_dir / str(version)) as staging:
        yield staging
        # A second export may have taken the number meanwhile: re-check just before the rename (a
        # rename onto an existing empty folder would replace it silently).
        check_new_version(model_dir, version)
