"""Write outputs under a temporary name and rename them into place once they are complete."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import uuid
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside ``path`` (not yet created); rename it to ``path`` when the block
    succeeds.

    A reader never sees a half-written file: on an exception the temporary file (or folder) is
    removed and ``path`` is left as it was. The caller creates it, so it gets the usual permissions.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name ends in the real name, so writers that check the suffix (Keras wants
    # ``.keras`` and ``.weights.h5``) accept it; the leading dot hides it from globs and servers.
    tmp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` through a temporary file; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return pathlib.Path(path)
