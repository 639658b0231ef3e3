"""Write outputs under a temporary name and rename them into place once they are complete.

Temporary names are ``.tmp-<pid>-<8 hex>-<final name>``: the writer's process id lets
:mod:`data_prep.outputs.temporaries` remove the leftovers of a process that was killed, and only
those. Before the rename the file is flushed and checked whole
(:func:`data_prep.outputs.completeness.check_complete`); a write that failed for space, a size limit
or permissions becomes one :class:`~data_prep.outputs.write_failures.OutputWriteError` naming the
file, and no file appears under the final name.

Listeners (:func:`add_write_listener`) hear of every write just before its rename and just after,
so a run folder's manifest (:mod:`data_prep.outputs.manifest`) lists a file before it can exist.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import pathlib
import re
import shutil
import sys
import uuid
from typing import Callable, Iterator

from data_prep.outputs.completeness import IncompleteFile, check_complete
from data_prep.outputs.write_failures import OutputWriteError, as_write_error, likely_cause

#: ``.tmp-<pid>-<8 hex>-<final name>``: groups 1, 2, 3 are the process id, the token and the final name
TEMPORARY_NAME = re.compile(r"^\.tmp-(\d+)-([0-9a-f]{8})-(.+)$")

#: callables ``f(final_path, renamed)`` told before (``renamed=False``) and after each rename
_write_listeners: list[Callable[[pathlib.Path, bool], None]] = []


def add_write_listener(listener: Callable[[pathlib.Path, bool], None]) -> None:
    """Call ``listener(path, renamed)`` around every rename :func:`atomic_path` does (once per listener)."""
    if listener not in _write_listeners:
        _write_listeners.append(listener)


def announce_write(path: pathlib.Path, renamed: bool) -> None:
    """Tell the listeners that ``path`` is about to be renamed into place (``renamed=False``) or was."""
    for listener in list(_write_listeners):
        listener(pathlib.Path(path), renamed)


def temporary_name(path: str | os.PathLike, token: str | None = None) -> pathlib.Path:
    """The temporary path beside ``path``.

    ``.tmp-<pid>-<token>-<name>`` (``token``: 8 hex, random when not given; writes that belong together share one).
    """
    path = pathlib.Path(path)
    return path.with_name(f".tmp-{os.getpid()}-{token or uuid.uuid4().hex[:8]}-{path.name}")


def _remove(path: pathlib.Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        path.unlink()


def _raise_as_write_error(error: Exception, path: pathlib.Path):
    """Raise ``error`` as an :class:`OutputWriteError` of ``path`` when it is a failed write, else as it is."""
    converted = as_write_error(error, path)
    if converted is None or converted is error:
        raise error
    raise converted from error


def finish_write(temporary: pathlib.Path, final: pathlib.Path, rename: bool = True) -> None:
    """Check ``temporary`` whole, then (``rename``) rename it to ``final``, listeners told before and after.

    Raises:
        OutputWriteError: flushing or checking failed (the temporary file is left for the caller).
    """
    try:
        check_complete(temporary, final.name)
    except IncompleteFile as error:
        # a writer that does not report a failed write (libBigWig) leaves a file cut short: say why if known
        raise OutputWriteError(final, likely_cause(temporary) or f"the file written is incomplete: {error}") from None
    except OSError as error:
        _raise_as_write_error(error, final)
    if rename:
        announce_write(final, renamed=False)
        os.replace(temporary, final)
        _fsync_folder(final.parent)
        announce_write(final, renamed=True)


def _fsync_folder(folder: pathlib.Path) -> None:
    """Make a rename in ``folder`` durable (its entry is written to the disk, not only the file)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself has happened
    finally:
        os.close(descriptor)


_HDF5_SUFFIXES = (".h5", ".hdf5")


@contextlib.contextmanager
def _hdf5_finalizer_reports_held() -> Iterator[None]:
    """Hold back what h5py's objects print when they are freed after a failed write.

    When HDF5 cannot write, every h5py object of the file prints its own traceback as it is freed
    ("h5py._objects.ObjectID.__dealloc__ ... file write failed"), to ``sys.stderr`` and outside any
    exception the program can catch. While an HDF5 file is written, ``sys.stderr`` is a buffer; what
    it holds is passed on afterwards, without those tracebacks (the write's failure is reported once,
    as an :class:`OutputWriteError`).
    """
    import io

    real, held = sys.stderr, io.StringIO()
    sys.stderr = held
    try:
        yield
    finally:
        sys.stderr = real
        text = held.getvalue()
        if "ObjectID.__dealloc__" in text:
            blocks = text.split("Traceback (most recent call last):\n")
            text = blocks[0] + "".join("Traceback (most recent call last):\n" + block for block in blocks[1:]
                                       if "ObjectID.__dealloc__" not in block)
        if text:
            real.write(text)
            real.flush()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside ``path`` (not yet created).

    Rename it to ``path`` when the block succeeds and the file is whole.

    A reader never sees a half-written file: on an exception the temporary file (or folder) is
    removed and ``path`` is left as it was. The caller creates it, so it gets the usual permissions.

    Raises:
        OutputWriteError: the block or the check failed for space, a size limit or permissions.
    """
    path = pathlib.Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _raise_as_write_error(error, path)
    # The temporary name ends in the real name, so writers that check the suffix (Keras wants
    # ``.keras`` and ``.weights.h5``) accept it; the leading dot hides it from globs and servers.
    tmp = temporary_name(path)
    hdf5 = path.suffix.lower() in _HDF5_SUFFIXES
    held = _hdf5_finalizer_reports_held() if hdf5 else contextlib.nullcontext()
    try:
        try:
            with held:
                try:
                    yield tmp
                except BaseException:
                    # frees the h5py objects of a failed write while their reports are held; only then:
                    # a full collection costs seconds in a process holding a TensorFlow graph
                    if hdf5:
                        gc.collect()
                    raise
        except Exception as error:
            _raise_as_write_error(error, path)
        finish_write(tmp, path)
    finally:
        _remove(tmp)


@contextlib.contextmanager
def scratch_folder(beside: str | os.PathLike, purpose: str = "scratch") -> Iterator[pathlib.Path]:
    """A new folder beside ``beside`` for work files, removed when the block ends.

    A new folder ``.tmp-<pid>-<token>-<name>.<purpose>`` beside ``beside`` for work files (e.g. the spill of ``prep
    bigwig``), removed when the block ends; a killed process's is removed as a stale temporary by the next command
    writing there.
    """
    beside = pathlib.Path(beside)
    folder = temporary_name(beside.with_name(f"{beside.name}.{purpose}"))
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        _remove(folder)


def write_text_atomic(path: str | os.PathLike, text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` through a temporary file; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return pathlib.Path(path)


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, pathlib.PurePath):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_json_atomic(path: str | os.PathLike, obj, indent: int = 2) -> pathlib.Path:
    """Write ``obj`` as indented JSON (numpy scalars and paths as plain values) through a temporary file."""
    return write_text_atomic(path, json.dumps(obj, indent=indent, default=_json_default) + "\n")


__all__ = ["OutputWriteError", "TEMPORARY_NAME", "add_write_listener", "announce_write", "atomic_path", "finish_write",
           "scratch_folder", "temporary_name",
           "write_json_atomic", "write_text_atomic"]
