"""Importing the Keras backend without TensorFlow's C++ start-up lines on the terminal."""

from __future__ import annotations

import os
import sys

from dream_keras.native_stderr import held_native_stderr


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
    with held_native_stderr(show_on_error=True):  # an import that fails shows what it printed after all
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the CUDA probe prints its own lines
