"""Compiling interpretation functions with TensorFlow: XLA where it compiles, plain graphs otherwise."""

from __future__ import annotations


def require_tensorflow(what: str = "contribution scores") -> None:
    """Raise RuntimeError unless Keras runs on TensorFlow (gradients and their rules need it)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"{what} need the TensorFlow backend (KERAS_BACKEND=tensorflow); this process runs "
                           f"{keras.backend.backend()!r}. ISM works on every backend.")


def compile_with_fallback(function, jit_compile: bool = True):
    """``function`` as a ``tf.function``, compiled by XLA when ``jit_compile`` and XLA can compile it.

    The first call that XLA refuses (an op it has no kernel for) switches to the plain graph for
    good: TensorFlow's own CPU kernels for the input gradient of grouped convolutions (DREAM-CNN)
    are about 100 times slower than XLA's, so XLA is worth trying first.

    Returns:
        a callable with ``function``'s arguments.
    """
    import tensorflow as tf

    # autograph=False: the functions hold no Python control flow on tensors, and converting the
    # interpretation code (and every Keras layer call) to graph control flow took most of a trace.
    plain = tf.function(function, reduce_retracing=True, autograph=False)
    if not jit_compile:
        return plain
    compiled = tf.function(function, reduce_retracing=True, jit_compile=True, autograph=False)
    state = {"xla": True}

    def with_fallback(*args):
        if state["xla"]:
            try:
                return compiled(*args)
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.InternalError):
                state["xla"] = False  # an op XLA cannot compile: use TensorFlow's kernels from now on
        return plain(*args)

    return with_fallback
