"""Importing the Keras backend without TensorFlow's C++ start-up lines on the terminal."""

from __future__ import annotations

import os
import sys
import tempfile


def import_backend_quietly() -> None:
    """Import Keras (and so TensorFlow) with its C++ start-up lines (oneDNN, CUDA probe) kept off stderr.

    TensorFlow prints them from C++ before Python can set a log level, so file descriptor 2 points
    at a temporary file during the import; if the import fails, what it printed is shown after all.
    Users who set ``TF_CPP_MIN_LOG_LEVEL`` themselves, or who imported Keras already, are left alone.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "keras" in sys.modules:
        return
    # Later INFO lines (e.g. tf.data's memory notice) honour the level once logging is set up;
    # warnings and errors still show.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. some notebook kernels): nothing to hide
        import keras  # noqa: F401
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices("GPU")  # the CUDA probe prints its own lines
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
