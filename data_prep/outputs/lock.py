"""One command at a time per output: an operating-system lock held for the whole command.

Two commands writing the same ``--out`` at once (two ``--overwrite`` runs, a run and its
``--resume``) would each build a complete result and the last swap would silently delete the
other's. So a command takes an exclusive ``flock`` on a small lock file beside its output,
``.<name>.dream-keras.lock`` in the output's parent folder (beside, not inside: ``--overwrite``
swaps the folder itself), and holds it until it ends. The kernel releases the lock when the
process ends however it ends (a ``kill -9`` included), so there is never a stale lock to clear by
hand. The holder writes its process id and command line into the file, so the second command,
refused at once (it does not wait), names who holds the folder. The holder deletes the lock file
when it finishes; a lock file left by a killed process holds no lock and is taken over.

Locks are those of this machine's kernel: on a network file system two machines may not see each
other's locks (the same limit as the temporary-name clean-up, which goes by process ids).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import pathlib
import sys
from typing import Iterator

from data_prep.errors import InputError

LOCK_SUFFIX = ".dream-keras.lock"

#: lock file -> open descriptor, for the locks this process holds (a second request is granted at once)
_held: dict[pathlib.Path, int] = {}


class OutputInUse(InputError):
    """Another process holds the lock of the output this command wanted to write."""


def lock_path(output: str | os.PathLike) -> pathlib.Path:
    """The lock file of ``output``: ``.<name>.dream-keras.lock`` in its parent folder."""
    output = pathlib.Path(os.path.abspath(output))
    return output.with_name(f".{output.name}{LOCK_SUFFIX}")


def _holder(path: pathlib.Path) -> str:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return "another process"
    return f"process {lines[0]} (`{lines[1]}`, since {lines[2]})" if len(lines) >= 3 else "another process"


def _same_file(descriptor: int, path: pathlib.Path) -> bool:
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(descriptor)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def _acquire(path: pathlib.Path, output: pathlib.Path) -> int:
    """Open and lock ``path`` (creating it); the descriptor holds the lock."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise OutputInUse(f"{output} is being written by another dream-keras command: {_holder(path)}. Wait "
                              f"for it to finish (or stop it), or choose another --out") from None
        # The file may have been deleted by its previous holder between our open and our lock: then the
        # lock is on a name nobody else will open; take the lock of the file now there instead.
        if _same_file(descriptor, path):
            return descriptor
        os.close(descriptor)


@contextlib.contextmanager
def output_lock(output: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Hold the lock of ``output`` (a folder or a file) for the block; yields the lock file's path.

    Raises:
        OutputInUse: another process holds it (its process id and command are named).
    """
    output = pathlib.Path(os.path.abspath(output))
    path = lock_path(output)
    if path in _held:  # this process holds it already (a command inside a command)
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = _acquire(path, output)
    _held[path] = descriptor
    try:
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n{' '.join(sys.argv)}\n{started}\n".encode(), 0)
        yield path
    finally:
        del _held[path]
        with contextlib.suppress(OSError):
            path.unlink()  # while still locked: a waiting opener finds the name gone and retries
        os.close(descriptor)


def holds_lock(output: str | os.PathLike) -> bool:
    """Whether this process holds the lock of ``output``."""
    return lock_path(output) in _held


__all__ = ["LOCK_SUFFIX", "OutputInUse", "holds_lock", "lock_path", "output_lock"]
