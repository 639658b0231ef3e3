"""Writers whose C library may crash on a failed write run in a child process.

libBigWig (through pyBigWig) aborts the whole process ("malloc(): corrupted top size") when a write
fails for a full disk or a file-size limit, before Python can see an error. So bigWig files are
written by a forked copy of the process: if the copy dies, the command itself lives on, removes
the unfinished temporary file and says why (:class:`~data_prep.outputs.write_failures.OutputWriteError`).
The copy shares the data to write with its parent (fork copies memory pages only when they change)
and runs only the writing function, which must not print or start threads. Where ``os.fork`` is
missing (Windows), the function runs in the process itself.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import sys
import tempfile
import traceback
import warnings
from typing import Callable

from data_prep.outputs.write_failures import OutputWriteError, likely_cause, reason_of, write_errno


def _read_all(descriptor: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(descriptor, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_isolated(write: Callable[[], None], temporary: str | os.PathLike, final: str | os.PathLike) -> None:
    """Run ``write()`` (which writes ``temporary``) in a forked child process and wait for it.

    Args:
        write: writes the file; runs in the child (its return value is dropped).
        temporary: the file ``write`` creates (inspected when the child dies).
        final: the name the file will have, for messages.

    Raises:
        OutputWriteError: the write failed for space, a size limit or permissions (also when the
            child was killed by its C library after such a failure).
        RuntimeError: ``write`` failed otherwise, or the child died of another cause.
    """
    if not hasattr(os, "fork"):
        write()
        return
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    # what the C library prints (libBigWig: "[bwClose] There was an error ...") goes to a file, not the
    # terminal: the parent says what happened in one line, and shows it when the cause is unknown
    library_output = tempfile.TemporaryFile()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a multi-threaded process may deadlock a child that takes a lock
        # another thread held; the child runs only the file writer and leaves with os._exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: write, report a failure through the pipe, leave without cleanup
        os.close(read_end)
        os.dup2(library_output.fileno(), 2)
        status = 0
        try:
            # a crash of the writer is reported by the parent; a core dump would only cost time and space
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            # the first write past the file size limit ends the child at once (Python ignores SIGXFSZ, and
            # libBigWig would go on compressing and failing to write the rest of the file)
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            write()
        except BaseException as error:  # noqa: BLE001 - everything goes back to the parent
            report = {"errno": write_errno(error), "text": "".join(traceback.format_exception(error))[-4000:]}
            os.write(write_end, json.dumps(report).encode())
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with library_output:
        try:
            report = _read_all(read_end)
        finally:
            os.close(read_end)
        _, status = os.waitpid(pid, 0)
        library_output.seek(0)
        printed = library_output.read().decode(errors="replace").strip()
    if status == 0:
        if printed:
            sys.stderr.write(printed + "\n")
        return
    if report:
        failure = json.loads(report.decode())
        if failure["errno"] is not None:
            raise OutputWriteError(final, reason_of(failure["errno"]))
        raise RuntimeError(f"writing {final} failed:\n{failure['text']}{printed}")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXFSZ:
        raise OutputWriteError(final, reason_of(errno.EFBIG))
    reason = likely_cause(temporary)
    if reason is not None:
        raise OutputWriteError(final, reason)
    died = signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
    raise RuntimeError(f"the writer of {final} stopped with {died} (its C library crashed; it said: "
                       f"{printed or 'nothing'})"
                       "; nothing was written under that name")


__all__ = ["run_isolated"]
