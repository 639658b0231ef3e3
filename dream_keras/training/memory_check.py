"""Will one training step fit in this machine's memory? Checked before the first step, on CPU.

A training step holds every layer's output of the batch for the backward pass. When the step needs
more memory than the machine has, TensorFlow runs out inside it and the process dies (here with
"double free or corruption"), minutes after starting and without a word about the cause. This
check estimates the step's memory from the model's own layer output shapes and stops first, naming
the ``--accumulate`` (or batch size) that fits.

The estimate is ``ACTIVATION_FACTOR`` x (sum of every layer's output size, float32) x batch; a
recurrent layer counts its output ``1 + RECURRENT_GATES`` times (an LSTM keeps its gates, cell
states and their activations of every time step). Measured on this project's 2-core CPU machine with
TensorFlow 2.21, without XLA, as the growth of the peak resident memory between two batch sizes in
separate processes (``benchmarks/step_memory.py``): per example, a step held 1.17 x its layer
outputs for BPNet 512/8 at 2,114 bp, 1.15 x for DREAM-CNN and 1.16 x for DREAM-RNN there, 1.16 x
for DREAM-CNN and 1.20 x for DREAM-RNN at the yeast shape (the LSTM counted 10 times). The factor,
1.5, leaves a quarter on top of the largest. (Until 2026-12 it was 3, taken from a run whose peak
included XLA's timing steps: it refused DREAM-CNN at batch 1,024, which fits.) It is an estimate:
the check refuses only steps estimated above the memory still available (the data and the model
already loaded are not counted in).

XLA's compiled step can hold more (``XLA_FACTOR``); ``--jit-compile auto`` uses or times XLA only
where :func:`xla_fits` says its step fits in what is still available.
"""

from __future__ import annotations

import numpy as np

#: Bytes a training step holds per byte of layer outputs (measured 1.15-1.20; see the module docstring).
ACTIVATION_FACTOR = 1.5
#: Bytes an XLA-compiled training step holds per byte of layer outputs (measured up to 1.44; see
#: :func:`xla_fits`).
XLA_FACTOR = 1.5
#: Bytes XLA takes, whatever the batch, per time step of each direction of a recurrent layer (it
#: compiles the loop over the sequence; measured 4.2 MB; see :func:`xla_fits`).
XLA_BYTES_PER_RECURRENT_STEP = 4.5e6
#: Extra copies of a recurrent layer's output counted for what an LSTM keeps of every time step.
RECURRENT_GATES = 9


def activation_bytes_per_example(model) -> int:
    """The float32 bytes of every layer's output for one example (nested layers included)."""
    import keras

    total = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):  # private Keras: test_keras_internals
        try:
            outputs = layer.output
        except (AttributeError, ValueError):  # a layer used more than once, or never called symbolically
            continue
        # a recurrent layer keeps its gates and cell states of every time step for the backward pass as well
        copies = 1 + RECURRENT_GATES if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)) else 1
        for tensor in keras.tree.flatten(outputs):
            shape = getattr(tensor, "shape", None)
            if shape is not None and all(dim is not None for dim in shape[1:]):
                total += int(np.prod(shape[1:], dtype=np.int64)) * 4 * copies
    return total


def step_bytes_per_example(model) -> float:
    """The estimated bytes one example adds to a training step of ``model`` (see the module docstring)."""
    return activation_bytes_per_example(model) * ACTIVATION_FACTOR


def smallest_accumulation(model, global_batch_size: int, *, available: int | None = None) -> int | None:
    """The smallest gradient accumulation ``N`` whose step fits in memory.

    ``N`` divides ``global_batch_size`` (examples per optimizer update), and the step of
    ``global_batch_size / N`` examples is estimated to fit in ``available`` bytes (default:
    :func:`available_bytes`): 1 when the whole batch fits (or the available memory is unknown), ``None`` when
    not even one example fits.
    """
    available = available_bytes() if available is None else int(available)
    if available is None:
        return 1
    per_example = step_bytes_per_example(model)
    return next((n for n in range(1, global_batch_size + 1)
                 if global_batch_size % n == 0 and per_example * (global_batch_size // n) <= available), None)


def _recurrent_steps(model) -> int:
    """Time steps x directions of every recurrent layer of ``model`` (nested ones included)."""
    import keras

    steps = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):  # private Keras: test_keras_internals
        if not isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
            continue
        try:
            length = layer.input.shape[1]
        except AttributeError:  # a Bidirectional's own two layers: counted with it
            continue
        steps += (2 if isinstance(layer, keras.layers.Bidirectional) else 1) * int(length or 0)
    return steps


def xla_fits(model, batch_size: int, *, available: int | None = None) -> tuple[bool, float, int | None]:
    """Whether an XLA-compiled training step may fit in the available memory.

    Whether an XLA-compiled training step of ``model`` at ``batch_size`` may fit in ``available`` bytes (default:
    :func:`available_bytes`): ``XLA_FACTOR`` x the layer outputs x the batch.

    XLA plans one compiled program's buffers at once, and its step can hold more than the same step
    without XLA. Measured here (``benchmarks/step_memory.py --xla``), per example: DREAM-CNN 1.44 x
    its layer outputs at 2,114 bp and 1.38 x at the yeast shape, BPNet 512/8 0.89 x and DREAM-RNN
    0.94 x (less than without XLA). ``--jit-compile auto`` times the step without XLA first, and the
    process keeps that memory: DREAM-CNN at 2,114 bp, batch 32, peaked at 7.2 GB without XLA, then at 16.2 GB once the
    XLA step ran beside it. A step that does not fit aborts the process, so ``auto`` asks this with
    the memory available at that moment and does not try XLA where it says no.

    Recurrent layers cost XLA memory by their length, not their batch: DREAM-RNN's Bi-LSTM peaked
    1.3 GB above the same step without XLA at 150 bp and 17.8 GB above it at 2,114 bp, at batch 8 as
    at 32 (4.2 MB per time step and direction); ``XLA_BYTES_PER_RECURRENT_STEP`` x steps x directions
    is added for each.

    Returns ``(fits, estimated bytes, available bytes)``; unknown available memory counts as fitting.
    """
    available = available_bytes() if available is None else int(available)
    estimate = activation_bytes_per_example(model) * XLA_FACTOR * int(batch_size) + _recurrent_steps(model) \
        * XLA_BYTES_PER_RECURRENT_STEP
    return available is None or estimate <= available, estimate, available


def available_bytes() -> int | None:
    """Memory the process can still allocate.

    Linux's ``MemAvailable`` (what it holds already, the data and the model, is not counted in); ``None`` where
    ``/proc/meminfo`` is absent.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def check_step_memory(model, *, global_batch_size: int, step_batch_size: int, what: str,
                      available: int | None = None, accumulate: bool = True) -> dict:
    """Stop with a clear message when one training step would not fit in memory.

    It stops when one training step of ``model`` at ``step_batch_size`` examples is estimated to need more
    memory than is ``available`` (default: :func:`available_bytes`).

    ``global_batch_size`` is the examples of one optimizer update (every replica's), ``step_batch_size``
    the examples one step holds (``global_batch_size / accumulate``). ``accumulate``: whether the command
    takes ``--accumulate`` (else the fix names the largest ``--batch-size`` that fits). Returns the estimate
    (``{"per_example", "step", "available"}``, bytes).

    Raises:
        InputError: the step does not fit; the message names the smallest ``--accumulate`` that fits
            (or the largest ``--batch-size``).
    """
    from data_prep.errors import InputError

    per_example = step_bytes_per_example(model)
    available = available_bytes() if available is None else int(available)
    estimate = {"per_example": per_example, "step": per_example * step_batch_size, "available": available}
    if available is None or estimate["step"] <= available:
        return estimate
    if accumulate:
        n = smallest_accumulation(model, global_batch_size, available=available)
        fix = (f"--accumulate {n} (each step then holds {global_batch_size // n:,} examples and every update "
               f"still uses {global_batch_size:,}), or a smaller --batch-size" if n else "a smaller --batch-size")
    else:
        largest = int(available // per_example)
        fix = f"--batch-size {largest} or smaller" if largest else "a smaller model"
    gib = 1024 ** 3
    raise InputError(
        f"{what}: one training step at batch {step_batch_size:,} needs about {estimate['step'] / gib:.0f} GiB "
        f"(about {per_example / 1024 ** 2:.1f} MiB per example, estimated from the layer outputs), more than the "
        f"{available / gib:.0f} GiB of memory available here; it would run out of memory inside the step. "
        f"Fix: {fix}.")
