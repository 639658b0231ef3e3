"""A write that failed (a full disk, a file-size limit, a read-only or unwritable place), said once, plainly.

Every writer of the tool goes through :func:`data_prep.outputs.atomic.atomic_path`, which turns the
failures of this kind into :class:`OutputWriteError`: the file that could not be written, why (the
operating system's reason), the free space where it was going and the process's file-size limit
(``ulimit -f``), and the fix. The command line prints that one message and exits with status 2.

:func:`check_output_location` is asked before any work starts: an ``--out`` below an existing
regular file, or in a folder the user cannot write, is refused at once rather than after hours of
training.
"""

from __future__ import annotations

import errno
import os
import pathlib
import resource
import shutil

from data_prep.errors import InputError

#: error numbers that mean "this output cannot be written here" (not a bug of the program)
WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
#: how C and C++ writers (HDF5, TensorFlow) word the same failures when they give no error number
_WRITE_PHRASES = {"no space left on device": errno.ENOSPC, "file too large": errno.EFBIG,
                  "disk quota exceeded": errno.EDQUOT, "read-only file system": errno.EROFS,
                  "permission denied": errno.EACCES}


class OutputWriteError(InputError):
    """An output could not be written (space, a size limit, permissions); the message says which file and the fix.

    Attributes:
        path: the file (final name) that was not written.
        reason: the operating system's reason, in words.
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = pathlib.Path(path)
        self.reason = reason
        super().__init__(f"could not write {self.path}: {reason} ({space_report(self.path)}). Nothing was written "
                         f"under that name. {_fix(reason)}")


def _fix(reason: str) -> str:
    if "size limit" in reason or "too large" in reason:
        return ("Fix: raise the limit (ulimit -f unlimited) or write elsewhere with --out, then run the command "
                "again (--resume continues a training run)")
    if "permission" in reason.lower() or "read-only" in reason.lower() or "not permitted" in reason.lower():
        return "Fix: choose a folder you can write with --out, then run the command again"
    return ("Fix: free some space there, or write elsewhere with --out, then run the command again (--resume "
            "continues a training run)")


def _human(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def existing_ancestor(path: str | os.PathLike) -> pathlib.Path:
    """The nearest folder at or above ``path`` that exists."""
    path = pathlib.Path(os.path.abspath(path))
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path


def space_report(path: str | os.PathLike) -> str:
    """``free space on <folder>: 1.2 GB; file size limit (ulimit -f): none`` for where ``path`` goes."""
    folder = existing_ancestor(path)
    try:
        free = f"free space in {folder}: {_human(shutil.disk_usage(folder).free)}"
    except OSError:
        free = f"free space in {folder}: unknown"
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    shown = "none" if limit == resource.RLIM_INFINITY else _human(limit)
    return f"{free}; file size limit (ulimit -f): {shown}"


def write_errno(error: BaseException) -> int | None:
    """The error number of a failed write in ``error`` or its causes, else ``None``.

    The error number of a failed write in ``error`` or its causes (also read from a C/C++ library's message), or
    ``None`` when it is no write failure of :data:`WRITE_ERRNOS`.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        number = getattr(error, "errno", None)
        if number in WRITE_ERRNOS:
            return number
        text = str(error).lower()
        for phrase, found in _WRITE_PHRASES.items():
            if phrase in text:
                return found
        error = error.__cause__ or error.__context__
    return None


def reason_of(number: int) -> str:
    """The words for a write failure's error number (a size limit named as such)."""
    if number == errno.EFBIG:
        return "the file reached the file size limit (ulimit -f)"
    return os.strerror(number).lower()


#: less free space than this where a file goes, when its write failed, is taken for a full disk
NEARLY_FULL = 1 << 20


def likely_cause(written: str | os.PathLike) -> str | None:
    """Why the write of ``written`` (a file cut short, or a writer that died) most likely failed.

    It reached the process's file size limit, or the disk is full; ``None`` when neither.
    """
    written = pathlib.Path(written)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    size = written.stat().st_size if written.exists() else 0
    if limit != resource.RLIM_INFINITY and size >= limit:
        return reason_of(errno.EFBIG)
    try:
        if shutil.disk_usage(existing_ancestor(written)).free < NEARLY_FULL:
            return reason_of(errno.ENOSPC)
    except OSError:
        pass
    return None


def as_write_error(error: BaseException, path: str | os.PathLike) -> OutputWriteError | None:
    """``error`` as an :class:`OutputWriteError` of ``path`` when it is a failed write, else ``None``."""
    if isinstance(error, OutputWriteError):
        return error
    number = write_errno(error)
    return None if number is None else OutputWriteError(path, reason_of(number))


def check_output_location(path: str | os.PathLike, *, folder: bool, option: str = "--out") -> pathlib.Path:
    """Refuse, before any work, an output that cannot be created where it is named.

    Args:
        path: the output (a folder when ``folder``, else a file).
        folder: whether ``path`` names a folder.
        option: the option that named it, for the message.

    Returns:
        ``path`` made absolute.

    Raises:
        InputError: a part of the path above it is a regular file, ``path`` is a file where a folder
            is wanted (or the reverse), or its nearest existing folder cannot be written.
    """
    path = pathlib.Path(os.path.abspath(path))
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            raise InputError(f"{option} {path}: {parent} is a file, not a folder, so nothing can be written below "
                             f"it. Fix: choose another {option}")
    if folder and path.exists() and not path.is_dir():
        raise InputError(f"{option} {path} is a file; an output folder is needed here. Fix: choose another {option}")
    if not folder and path.is_dir():
        raise InputError(f"{option} {path} is a folder; a file name is needed here. Fix: choose another {option}")
    place = existing_ancestor(path if folder else path.parent)
    if not os.access(place, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: the folder {place} cannot be written by this user. Fix: choose a "
                         f"folder you can write with {option}")
    return path


__all__ = ["OutputWriteError", "WRITE_ERRNOS", "as_write_error", "check_output_location", "existing_ancestor",
           "likely_cause", "reason_of", "space_report", "write_errno"]
