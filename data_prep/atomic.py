"""Write outputs under a temporary name and rename them into place once they are complete."""

from __future__ import annotations

import contextlib
import os
import pathlib
import uuid
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside ``path`` (not yet created); rename it to ``path`` when the block
    succeeds.

    A reader never sees a half-written file: on an exception the temporary file is removed and
    ``path`` is left as it was. The file is created by the caller, so it gets the usual permissions.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` through a temporary file; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return pathlib.Path(path)
