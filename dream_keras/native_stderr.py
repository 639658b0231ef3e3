"""TensorFlow's C++ log lines held off the terminal while a block runs.

TensorFlow's C++ core logs to file descriptor 2 directly (``E0000 ... graph_compiler.cc ...``), below
Python's ``sys.stderr``, so neither ``logging`` nor ``contextlib.redirect_stderr`` can hold those lines
back. :func:`held_native_stderr` points descriptor 2 at a temporary file for the block and gives the
caller what was written there, to show, summarise or drop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
from collections.abc import Iterator


@dataclasses.dataclass
class HeldText:
    """What the C++ side (and anything else) wrote to descriptor 2 during the block; set when it ends."""

    text: str = ""


@contextlib.contextmanager
def held_native_stderr(*, show_on_error: bool = True) -> Iterator[HeldText]:
    """Send file descriptor 2 to a temporary file for the block; yields a :class:`HeldText` filled at exit.

    Args:
        show_on_error: when the block raises, write what was held to the real stderr before the error
            goes on (a failure keeps its context); ``False`` leaves it to the caller (``held.text``).

    Yields:
        The holder; its ``text`` is what was written to descriptor 2, set when the block ends.
    """
    held = HeldText()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. some notebook kernels): nothing to hold
        yield held
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = False
        try:
            yield held
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            held.text = captured.read().decode(errors="replace")
            if failed and show_on_error and held.text:
                sys.stderr.write(held.text)
                sys.stderr.flush()


__all__ = ["HeldText", "held_native_stderr"]
