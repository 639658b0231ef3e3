"""Everything a command prints, as a file would receive it under ``dream-keras ... > log 2>&1``.

Python's ``sys.stdout``/``sys.stderr``, file descriptor 2 (where TensorFlow's C++ side logs) and
TensorFlow's Python logger (whose handler holds the stream it found at import) all go to one file for
the block, so a test can read what a user who redirects the output would find there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import sys


@contextlib.contextmanager
def console_to_file(path: pathlib.Path):
    """Send the console's output to ``path`` (created) during the block.

    ``sys.stdout``, ``sys.stderr``, file descriptor 2 and the ``tensorflow`` logger's messages.
    """
    with open(path, "w", encoding="utf-8") as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        tensorflow_logger = logging.getLogger("tensorflow")
        handler = logging.StreamHandler(sink)
        tensorflow_logger.addHandler(handler)
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                yield
        finally:
            tensorflow_logger.removeHandler(handler)
            sink.flush()
            os.dup2(saved, 2)
            os.close(saved)


def tensorflow_started() -> None:
    """Start TensorFlow's devices in this test process, its C++ start-up lines held back.

    The command line holds them back itself as it imports the backend (checked by tests/test_cli_startup.py):
    what :func:`console_to_file` then receives is the command's own output.
    """
    import tensorflow as tf

    from dream_keras.native_stderr import held_native_stderr

    with held_native_stderr(show_on_error=True):
        tf.config.list_physical_devices()


#: what a plain console log must not hold: progress-bar control characters, TensorFlow's C++ log lines
#: and retracing notices, Python warning source lines, tracebacks
NOISE = (("\r", "carriage return"), ("\x1b[", "ANSI escape"), ("\x08", "backspace"), ("E0000 ", "C++ error line"),
         ("W0000 ", "C++ warning line"), ("UNIMPLEMENTED", "C++ error"), ("tf2xla", "XLA conversion failure"),
         ("triggered tf.function retracing", "retracing notice"), ("UserWarning", "Python warning"),
         ("warnings.warn(", "warning source line"), ("Traceback", "traceback"))


def noise_in(text: str) -> list[str]:
    """``["<what>: <the line holding it>", ...]`` for each kind of :data:`NOISE` in ``text`` (first line each)."""
    found = []
    for mark, what in NOISE:
        if mark in text:
            line = next((line for line in text.replace("\r", "\n").splitlines() if mark in line), mark)
            found.append(f"{what}: {line[:200]!r}")
    return found
