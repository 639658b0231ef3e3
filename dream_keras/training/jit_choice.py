"""``--jit-compile auto`` on CPU: XLA or not, decided by timing train steps of the run's own model here.

Whether XLA trains a model faster on a CPU depends on the CPU, the TensorFlow build, the model and
the batch shape (on one 2-core machine XLA trained BPNet 2.3-3.2x faster; on another it made the
DREAM-RNN LSTM 2.3x slower). So the first run of a configuration times a few training steps of the
compiled model both ways, on a synthetic batch of the run's shape, and keeps the faster (steady
state: the first, compiling step is not timed; XLA compiles again for each new batch shape, which
a long run pays once per shape). The decision is cached in a small JSON file, one entry per configuration:

    CPU model, core count, TensorFlow / Keras / dream-keras versions (a new release may compute
    layers differently), backbone, parameter count and layer count (so
    that two sizes of one backbone are two configurations), input shape, batch size, dtype policy,
    whether TensorFlow's op determinism is on (seeded runs switch it on; it changes which kernels run)

under ``$DREAM_KERAS_CACHE_DIR``, else ``$XDG_CACHE_HOME/dream-keras/``, else
``~/.cache/dream-keras/`` (file :data:`CACHE_FILE`, written to a temporary name and renamed). Later
runs of the same configuration read it. The model, its optimizer and its random-seed states are
restored after the timing, so a run trains the same whether or not it measured.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import time

from dream_keras.native_stderr import held_native_stderr

#: Environment variable naming the cache folder (overrides ``$XDG_CACHE_HOME/dream-keras``).
CACHE_ENV = "DREAM_KERAS_CACHE_DIR"
CACHE_FILE = "jit_choice.json"
#: Timed training steps each way, after one untimed step that traces (and compiles) the function.
TIMED_STEPS = 2


def cache_path() -> pathlib.Path:
    """The JSON cache of measured decisions (see the module docstring for the folder's rules)."""
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "dream-keras")
    return pathlib.Path(folder) / CACHE_FILE


def cpu_model() -> str:
    """The CPU's model string (``/proc/cpuinfo``'s "model name", else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def op_determinism_enabled() -> bool:
    """Whether TensorFlow's op determinism is on in this process."""
    # private TensorFlow function (no public getter exists for enable_op_determinism's switch);
    # pinned by tests/test_keras_internals.py
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())


def decision_key(model, batch_size: int, backbone: str | None) -> str:
    """The cache key of ``model`` trained at ``batch_size`` under the current dtype policy on this machine."""
    import keras
    import tensorflow as tf

    from dream_keras import __version__

    shapes = [list(tensor.shape[1:]) for tensor in model.inputs]
    return json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), "tensorflow": tf.__version__,
                       "keras": keras.__version__, "dream_keras": __version__, "backbone": backbone,
                       "parameters": int(model.count_params()),
                       "layers": len(model.layers), "input_shape": shapes, "batch_size": int(batch_size),
                       "precision": keras.config.dtype_policy().name,
                       "op_determinism": op_determinism_enabled()},
                      sort_keys=True)


def read_cache(path: pathlib.Path) -> dict:
    """The cached entries (``{}`` when the file is missing or unreadable: it is only a cache)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def write_cache_entry(path: pathlib.Path, key: str, entry: dict) -> None:
    """Add ``entry`` under ``key`` to the cache at ``path``, written to a temporary name and renamed."""
    from data_prep.outputs import write_text_atomic

    entries = read_cache(path)
    entries[key] = entry
    write_text_atomic(path, json.dumps(entries, indent=1, sort_keys=True))


def synthetic_batch(model, batch_size: int):
    """Inputs ``(batch_size, *input_shape)`` uniform in [0, 1) and zero targets shaped as the outputs.

    Step time does not depend on the values; zeros are valid targets for every head's loss. With a
    loss per output (a dict), only the outputs that have one get targets, as in the run's own data:
    Keras fixes the target structure at the first step. ``model`` is the network whose inputs and
    outputs give the shapes (a trainer that wraps it takes the same batch).
    """
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    inputs = [rng.random((batch_size, *tensor.shape[1:])).astype("float32") for tensor in model.inputs]
    x = inputs[0] if len(inputs) == 1 else inputs
    one = model.predict_on_batch(inputs[0][:1] if len(inputs) == 1 else [a[:1] for a in inputs])
    y = keras.tree.map_structure(lambda out: np.zeros((batch_size, *np.shape(out)[1:]), "float32"), one)
    if isinstance(y, dict) and isinstance(model.loss, dict):
        y = {name: target for name, target in y.items() if name in model.loss}
    return x, y


def _state(model) -> list:
    # every variable a train step changes: weights, BatchNorm statistics, seed-generator states,
    # the optimizer's slots and iteration count, and the metric trackers
    return [*model.variables, *model.optimizer.variables, *model.metrics_variables]


def time_train_steps(model, x, y, jit_compile: bool, steps: int = TIMED_STEPS) -> float:
    """Seconds per training step of the compiled ``model`` with or without XLA.

    Seconds per ``train_on_batch(x, y)`` step of the compiled ``model`` with or without XLA, after one untimed step
    (tracing and compiling).
    """
    from dream_keras.training.performance import apply_jit_compile

    apply_jit_compile(model, jit_compile)
    model.train_on_batch(x, y)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return (time.perf_counter() - started) / steps


def measure_jit_compile(model, batch_size: int, steps: int = TIMED_STEPS, *, network=None) -> dict:
    """Seconds per training step without and with XLA for the compiled ``model`` at ``batch_size``.

    ``network``: the network ``model`` trains when ``model`` is a wrapper (a trainer whose loss is its
    own): its inputs and outputs shape the batch, its layers the memory estimate.

    Returns ``{"without_xla": s, "with_xla": s}``; ``with_xla`` is ``None`` (and ``xla_error`` says why)
    when XLA cannot compile the model's training step here, or (``xla_not_tried`` says why) when its
    step may not fit in the memory left after the steps without XLA
    (:func:`dream_keras.training.memory_check.xla_fits`). Every variable of the model, its optimizer and its
    metrics is put back as it was; the step functions are dropped (set XLA afterwards with
    :func:`dream_keras.training.performance.apply_jit_compile`).
    """
    from dream_keras.training.memory_check import xla_fits
    from dream_keras.training.performance import apply_jit_compile

    network = network or model
    optimizer = model.optimizer
    if not optimizer.built:  # build it now so that its fresh slots are part of the saved state
        optimizer.build(model.trainable_variables)
    state = _state(model)
    saved = [variable.numpy() for variable in state]
    x, y = synthetic_batch(network, batch_size)
    try:
        timings = {"without_xla": time_train_steps(model, x, y, False, steps)}
        fits, needs, available = xla_fits(network, batch_size)  # what the steps without XLA left available
        if not fits:
            timings["with_xla"] = None
            timings["xla_not_tried"] = _not_tried(needs, available)
            return timings
        try:
            # XLA's C++ side logs a failed compilation (E0000 ... UNIMPLEMENTED ..., tf2xla conversion
            # failed) to descriptor 2 before the Python error: the decision line says it once, plainly
            with held_native_stderr(show_on_error=False):
                timings["with_xla"] = time_train_steps(model, x, y, True, steps)
        except Exception as error:  # noqa: BLE001 - any failure to compile means: no XLA for this run
            # e.g. TensorFlow has no deterministic XLA kernel for MaxPool's gradient, and seeded runs
            # switch op determinism on: such a model trains without XLA
            timings["with_xla"] = None
            timings["xla_error"] = xla_error_in_words(error)
        return timings
    finally:
        for variable, value in zip(state, saved):
            variable.assign(value)
        apply_jit_compile(model, False)


def xla_error_in_words(error: BaseException | str) -> str:
    """Why XLA could not compile a training step, in one line a user can read.

    TensorFlow's own first line is kept, except for the case every seeded run of a model with max
    pooling meets, which TensorFlow words as a GPU problem even on a machine without a GPU (a reason
    cached in TensorFlow's words by an earlier version is put in these words too).
    """
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if "MaxPool gradient" in first and "deterministic" in first:
        return ("TensorFlow has no deterministic XLA version of max pooling's gradient, and seeded runs are "
                "deterministic")
    return first[:200]


def _not_tried(needs: float, available: int) -> str:
    return (f"an XLA step may need {needs / 1024 ** 3:.1f} GiB, more than the {available / 1024 ** 3:.1f} GiB "
            "available now; running out of memory would end the process, so XLA is not tried")


def choose_jit_compile(model, batch_size: int, backbone: str | None, *, say=print,
                       steps: int = TIMED_STEPS, network=None) -> bool:
    """Whether the compiled ``model`` trains faster with XLA here at ``batch_size``.

    Read from the cache, or measured (:func:`measure_jit_compile`) and cached. ``say`` gets one line with what was
    measured (or read) and chosen. ``network``: as for :func:`measure_jit_compile` (also the cache key's).
    """
    from dream_keras.training.memory_check import xla_fits

    network = network or model
    fits, needs, available = xla_fits(network, batch_size)
    if not fits:  # decided by this run's memory, not cached: the next run may have more
        say(f"--jit-compile auto: {backbone or 'model'} at batch {batch_size}: {_not_tried(needs, available)} "
            "-> XLA off")
        return False
    path = cache_path()
    key = decision_key(network, batch_size, backbone)
    entry = read_cache(path).get(key)
    source = f"cached in {path}"
    if not (isinstance(entry, dict) and {"without_xla", "with_xla"} <= set(entry)):
        entry = {**measure_jit_compile(model, batch_size, steps, network=network),
                 "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
        if "xla_not_tried" in entry:  # not cached either
            say(f"--jit-compile auto: {backbone or 'model'} at batch {batch_size} trains in "
                f"{entry['without_xla']:.3g} s/step without XLA; {entry['xla_not_tried']} -> XLA off")
            return False
        write_cache_entry(path, key, entry)
        source = f"measured now, {steps} steps each way; cached in {path}"
    if entry["with_xla"] is None:
        say(f"--jit-compile auto: {backbone or 'model'} at batch {batch_size} trains in {entry['without_xla']:.3g} "
            f"s/step without XLA; XLA cannot compile it here ({xla_error_in_words(entry.get('xla_error', 'error'))}) "
            f"({source}) -> XLA off")
        return False
    use_xla = float(entry["with_xla"]) < float(entry["without_xla"])
    say(f"--jit-compile auto: {backbone or 'model'} at batch {batch_size} trains in {entry['without_xla']:.3g} s/step "
        f"without XLA and {entry['with_xla']:.3g} s/step with XLA ({source}) -> XLA {'on' if use_xla else 'off'}")
    return use_xla
