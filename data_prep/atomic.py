"""Write outputs under a temporary name and rename them into place once they are complete.

Temporary names are ``.tmp-<pid>-<8 hex>-<final name>``: the writer's process id lets
:mod:`data_prep.stale_temporaries` remove the leftovers of a process that was killed, and only those.
Listeners (:func:`add_write_listener`) hear of every completed write, so a run folder's manifest
(``dream_keras.training.manifest``) follows what the tool writes.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import uuid
from typing import Callable, Iterator

#: callables ``f(final_path)`` told after each completed rename (see :func:`add_write_listener`)
_write_listeners: list[Callable[[pathlib.Path], None]] = []


def add_write_listener(listener: Callable[[pathlib.Path], None]) -> None:
    """Call ``listener(path)`` after every write :func:`atomic_path` completes (once per listener)."""
    if listener not in _write_listeners:
        _write_listeners.append(listener)


def temporary_name(path: str | os.PathLike, token: str | None = None) -> pathlib.Path:
    """The temporary path beside ``path``: ``.tmp-<pid>-<token>-<name>`` (``token``: 8 hex, random
    when not given; writes that belong together share one)."""
    path = pathlib.Path(path)
    return path.with_name(f".tmp-{os.getpid()}-{token or uuid.uuid4().hex[:8]}-{path.name}")


def kill_point(event: str) -> None:
    """Test hook: SIGKILL this process when ``DREAM_KERAS_KILL_AT`` names ``event``.

    ``DREAM_KERAS_KILL_AT=after-rename:model.keras`` kills right after ``model.keras`` is renamed
    into place (the first time, or the N-th with ``...:model.keras:N``), so the kill tests can
    stop a process at a chosen file event, as ``kill -9`` would. Unset, this costs one lookup.
    """
    wanted = os.environ.get("DREAM_KERAS_KILL_AT")
    if not wanted:
        return
    name, _, count = wanted.rpartition(":") if wanted.count(":") >= 2 else (wanted, "", "")
    if event != name:
        return
    global _kill_hits
    _kill_hits += 1
    if _kill_hits >= int(count or 1):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


_kill_hits = 0


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
    tmp = temporary_name(path)
    try:
        yield tmp
        kill_point(f"before-rename:{path.name}")
        os.replace(tmp, path)
        kill_point(f"after-rename:{path.name}")
        for listener in list(_write_listeners):
            listener(path)
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
