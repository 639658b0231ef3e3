"""What the program writes on the console: progress only on a terminal, warnings in one plain line.

- Progress bars (Keras's and tqdm's) draw themselves with carriage returns and colour codes, which
  fill a log file with control characters: they are shown only when the stream is a terminal; a
  redirected run prints one plain line per epoch (:func:`fit_verbosity`) or none
  (:func:`predict_verbosity`; the command says what it wrote when it ends).
- A warning raised for the user (``warnings.warn``) is printed as one line, ``warning: ...``, without
  the file, line number and source line Python adds (:func:`plain_warnings`).
- TensorFlow's "triggered tf.function retracing" notices are dropped (:func:`retracing_notices_dropped`):
  the program calls models on batches of several sizes and makes several models on purpose, and the
  notice offers the user nothing to do.

Keras-free at import, so that the command line's ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import pathlib
import sys
import warnings
from collections.abc import Iterator

#: the packages of this project: their warnings are the program's own (no origin named)
OWN_PACKAGES = ("dream_keras", "data_prep", "bias_models", "baselines")
#: the phrase that marks TensorFlow's retracing notice (``tf.function`` tracing statistics)
RETRACING_PHRASE = "triggered tf.function retracing"


def on_terminal(stream=None) -> bool:
    """Whether ``stream`` (default ``sys.stdout``) is an interactive terminal."""
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or file-less stream
        return False


def fit_verbosity() -> int:
    """Keras ``fit`` verbosity: progress bars on a terminal (1), else one line per epoch (2)."""
    return 1 if on_terminal() else 2


def predict_verbosity() -> int:
    """Keras ``predict`` verbosity: a progress bar on a terminal (1), else nothing (0)."""
    return 1 if on_terminal() else 0


def progress_wanted(progress: bool | None = None) -> bool:
    """A tqdm bar's switch with tqdm's ``disable=None`` meaning.

    ``None`` shows it only when stderr (where tqdm draws) is a terminal; ``True``/``False`` decide.
    """
    return on_terminal(sys.stderr) if progress is None else bool(progress)


def warning_origin(filename: str) -> str | None:
    """The top-level package whose code raised a warning, or ``None`` for this project's own packages."""
    parts = pathlib.PurePath(str(filename)).parts
    if any(part in OWN_PACKAGES for part in parts):
        return None
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return pathlib.PurePath(parts[parts.index(marker) + 1]).stem
    return pathlib.PurePath(str(filename)).stem or None


def plain_warning_line(message, filename: str) -> str:
    """``warning: <message on one line>`` (``warning (<package>): ...`` for another package's warning)."""
    words = " ".join(str(message).split())
    origin = warning_origin(filename)
    return f"warning: {words}" if origin is None else f"warning ({origin}): {words}"


@contextlib.contextmanager
def plain_warnings() -> Iterator[None]:
    """Within the block, every warning shown is one line on stderr (:func:`plain_warning_line`).

    Python's filters still decide which warnings are shown (by default each once per place it is
    raised); only the form changes.
    """
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        del category, lineno, line
        target = file if file is not None else sys.stderr
        try:
            target.write(plain_warning_line(message, filename) + "\n")
            target.flush()
        except (OSError, ValueError):  # stderr closed: a warning is not worth failing for
            pass

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


class RetracingNoticeFilter(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" log records; lets everything else through."""

    def filter(self, record: logging.LogRecord) -> bool:
        """``False`` for a retracing notice."""
        try:
            return RETRACING_PHRASE not in record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is not ours to drop
            return True


@contextlib.contextmanager
def retracing_notices_dropped() -> Iterator[None]:
    """Within the block, TensorFlow's Python logger drops its retracing notices (other messages pass)."""
    logger = logging.getLogger("tensorflow")
    notice_filter = RetracingNoticeFilter()
    logger.addFilter(notice_filter)
    try:
        yield
    finally:
        logger.removeFilter(notice_filter)


__all__ = ["OWN_PACKAGES", "RETRACING_PHRASE", "RetracingNoticeFilter", "fit_verbosity", "on_terminal",
           "plain_warning_line", "plain_warnings", "predict_verbosity", "progress_wanted",
           "retracing_notices_dropped", "warning_origin"]
