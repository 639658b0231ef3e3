"""Speed settings of a training run: the Keras dtype policy (``--precision``) and XLA (``--jit-compile``).

Precision
    ``float32`` (default), ``mixed_bfloat16`` or ``mixed_float16``: the global Keras dtype policy
    (:func:`set_precision`, or the :func:`precision` context). Under a mixed policy the layers
    compute in 16 bits and keep float32 variables; the ``profile_count`` head's last layers are
    float32 and the losses compute in float32 (see :mod:`dream_keras.heads.profile_count`), and
    under ``mixed_float16`` ``model.compile`` wraps the optimizer in a ``LossScaleOptimizer``
    (Keras's ``auto_scale_loss``). The policy must be set before the model is built.

XLA
    ``--jit-compile auto|on|off``: ``on`` and ``off`` are explicit; ``auto`` on a TensorFlow without
    a GPU times a few training steps of the run's own compiled model both ways at the start of the
    run and keeps the faster (cached per machine and configuration:
    :mod:`dream_keras.training.jit_choice`); elsewhere it leaves the choice to Keras (XLA where it
    supports it; the JAX backend always compiles). Keras refuses XLA while TensorFlow's op
    determinism is on (which seeded runs switch on), so :func:`apply_jit_compile` sets the choice on
    the compiled model itself; XLA on CPU repeats exactly from the same seed (tests/test_performance.py
    checks it).

Mixed precision pays only on hardware with 16-bit matrix units. On this CPU bfloat16 Conv1D and
matmul run at 0.19x to 0.23x of float32 (oneDNN emulates bf16 without AVX512_BF16/AMX), so
``mixed_bfloat16`` is slower here. On one H100 (Keras on JAX, XLA, batch 64) bpnet 512/8 trains at
883.7 examples/s in float32 (53 % of the measured float32 Conv1D) and 2,108.4 in ``mixed_bfloat16``
(2.39x; 85 % of bf16 Conv1D); dream_cnn 1,009.4 -> 1,380.2; dream_rnn 381.9 -> 434.3 (1.14x: its
Bi-LSTM stays float32 under a mixed policy, see :mod:`dream_keras.backbones.dream_rnn`; JAX's cuDNN
LSTM has no bfloat16 kernel). Two epochs on the mouse fixture (``benchmarks/precision.py``) reach
validation losses 473.42 (float32) and 471.42 (``mixed_bfloat16``, -0.42 %).

Known slow case: on the H100 (JAX 0.11, XLA), bpnet's dilated convolutions of dilation 16 and more
take about 0.42 s each for a forward pass alone in bfloat16 (batch 64), against about 1 ms for the
whole float32 layer, so bf16 *prediction* of bpnet 512/8 runs at 36 examples/s; the same
convolutions inside a gradient step are fast (0.026 s for the whole forward and backward pass). A
model saved after mixed-precision training loads and predicts in float32 (the dtype policy is
not stored in the model's config), so ``dream-keras predict`` does not meet this case.
"""

from __future__ import annotations

import contextlib

#: Keras dtype policies a run may use (``--precision``).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
#: ``--jit-compile`` choices.
JIT_CHOICES = ("auto", "on", "off")

#: ``resolve_jit_compile``'s answer for ``auto`` on a CPU-only TensorFlow: time both ways, keep the faster.
MEASURE = "measure"


def check_precision(name: str) -> str:
    """``name`` if it is one of :data:`PRECISIONS`, else ``ValueError`` naming the choices."""
    if name not in PRECISIONS:
        raise ValueError(f"precision {name!r} is not one of {', '.join(PRECISIONS)}")
    return name


def set_precision(name: str) -> str:
    """Set the global Keras dtype policy to ``name`` (one of :data:`PRECISIONS`).

    Returns the compute dtype (``float32``, ``bfloat16`` or ``float16``). Models built afterwards
    take the policy; models built before keep theirs.
    """
    import keras

    keras.config.set_dtype_policy(check_precision(name))
    return keras.config.dtype_policy().compute_dtype


@contextlib.contextmanager
def precision(name: str):
    """Context: the global dtype policy is ``name`` inside, the previous one again after.

    Yields the compute dtype (see :func:`set_precision`).
    """
    import keras

    previous = keras.config.dtype_policy()
    try:
        yield set_precision(name)
    finally:
        keras.config.set_dtype_policy(previous)


def has_gpu() -> bool:
    """Whether TensorFlow sees a GPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def resolve_jit_compile(choice: str, backbone: str | None = None) -> bool | str:
    """The ``jit_compile`` to give :func:`apply_jit_compile` for the ``--jit-compile`` ``choice``.

    Args:
        choice: ``"on"`` (True), ``"off"`` (False) or ``"auto"``.
        backbone: Registered backbone name (kept for callers; the decision is measured, not looked up).

    Returns:
        ``True``, ``False``, :data:`MEASURE` (``auto`` on a CPU-only TensorFlow: time the compiled
        model both ways) or ``"auto"`` (let Keras decide: GPUs, and other backends).
    """
    import keras

    if choice not in JIT_CHOICES:
        raise ValueError(f"jit_compile {choice!r} is not one of {', '.join(JIT_CHOICES)}")
    if choice != "auto":
        return choice == "on"
    if keras.backend.backend() != "tensorflow" or has_gpu():
        return "auto"
    return MEASURE


def apply_jit_compile(model, jit_compile: bool | str, *, step_batch_size: int | None = None,
                      backbone: str | None = None, say=print, network=None) -> bool:
    """Set XLA compilation on a compiled ``model``; returns whether its steps will use XLA.

    :data:`MEASURE` times ``model``'s training steps at ``step_batch_size`` (examples per step) both ways,
    or reads an earlier measurement of the same configuration, and sets the faster
    (:func:`dream_keras.training.jit_choice.choose_jit_compile`; ``say`` gets its one-line report;
    ``network``: the network a wrapping trainer ``model`` trains, which shapes the timed batch).
    Under a distribution strategy with several replicas nothing is timed and XLA stays off.

    Compile with ``jit_compile=False`` and call this after: ``True`` is kept even while
    TensorFlow's op determinism is enabled. Keras's ``jit_compile`` setter refuses XLA then, with a
    warning (not every op has a deterministic XLA kernel on GPU), but the zoo's models repeat
    exactly under XLA on CPU, and without XLA DREAM-CNN's grouped convolutions are too slow to
    train; so the attribute that Keras's train/test/predict functions read is set directly.
    ``"auto"`` restores Keras's own lazy choice.
    """
    if jit_compile == MEASURE:
        if step_batch_size is None:
            raise ValueError("jit_compile 'measure' needs the step_batch_size the model trains at")
        if model.distribute_strategy.num_replicas_in_sync > 1:
            jit_compile = False
        else:
            from dream_keras.training.jit_choice import choose_jit_compile

            jit_compile = choose_jit_compile(model, step_batch_size, backbone, say=say, network=network)
    # Private Keras API (Keras 3.15): Trainer._jit_compile is what the public jit_compile property
    # and the step functions read; the public setter refuses True under op determinism. Checked by
    # tests/test_keras_internals.py, which fails if Keras renames it.
    model._jit_compile = None if jit_compile == "auto" else bool(jit_compile)
    # the step functions are built on first use; drop any built with the previous setting
    model.train_function = model.test_function = model.predict_function = None
    return bool(model.jit_compile)
