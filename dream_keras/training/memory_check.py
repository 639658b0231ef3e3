"""Will one training step fit in this machine's memory? Checked before the first step, on CPU.

A training step holds every layer's output of the batch for the backward pass. DREAM-CNN at the
DREAM recipe's batch of 1,024 needs more memory than a 24 GiB workstation has: TensorFlow then
runs out of memory inside the step and the process dies (here with "double free or corruption"),
minutes after starting and without a word about the cause. This check estimates the step's memory
from the model's own layer output shapes and stops first, naming the ``--accumulate`` (or batch
size) that fits.

The estimate is ``ACTIVATION_FACTOR`` x (sum of every layer's output size, float32) x batch. The
factor covers what a step holds beside the layer outputs (intermediates inside layers, their
gradients, the backends' workspaces); it was measured on this project's 2-core CPU machine with
TensorFlow 2.21: DREAM-CNN at the yeast shape, batch 256, peaked at 10.8 GB resident, about 1.5 GB
of it the process before training and 3.2 GB the layer outputs, so 2.9 (rounded up to 3). It is
an estimate: the check refuses only steps estimated above the memory still available (the data and
the model already loaded are not counted in). Recurrent layers count their output 5 times (the
output and the four LSTM gates of every step); DREAM-RNN at batch 1,024 is then estimated at 9.4
GiB against 12.4 GB measured above the process's starting memory (13.9 GB peak), so for LSTMs the
estimate runs about 20 % low.
"""

from __future__ import annotations

import numpy as np

#: Bytes a training step holds per byte of layer outputs (measured; see the module docstring).
ACTIVATION_FACTOR = 3.0
#: Extra copies of a recurrent layer's output counted for its gates (an LSTM keeps 4 per step).
RECURRENT_GATES = 4


def activation_bytes_per_example(model) -> int:
    """The float32 bytes of every layer's output for one example (nested layers included)."""
    import keras

    total = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):  # private Keras: test_keras_internals
        try:
            outputs = layer.output
        except (AttributeError, ValueError):  # a layer used more than once, or never called symbolically
            continue
        # a recurrent layer keeps its four gates of every time step for the backward pass as well
        copies = 1 + RECURRENT_GATES if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)) else 1
        for tensor in keras.tree.flatten(outputs):
            shape = getattr(tensor, "shape", None)
            if shape is not None and all(dim is not None for dim in shape[1:]):
                total += int(np.prod(shape[1:], dtype=np.int64)) * 4 * copies
    return total


def available_bytes() -> int | None:
    """Memory the process can still allocate: Linux's ``MemAvailable`` (what it holds already, the
    data and the model, is not counted in); ``None`` where ``/proc/meminfo`` is absent."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def check_step_memory(model, *, batch_size: int, step_batch_size: int, what: str,
                      available: int | None = None) -> dict:
    """Stop with a clear message when one training step of ``model`` at ``step_batch_size`` examples
    is estimated to need more memory than is ``available`` (default: :func:`available_bytes`).

    ``batch_size`` is the recipe's batch (the update), ``step_batch_size`` the examples one step holds
    (``batch_size / accumulate``). Returns the estimate (``{"per_example", "step", "available"}``, bytes).

    Raises:
        InputError: the step does not fit; the message names the smallest ``--accumulate`` that fits.
    """
    from data_prep.errors import InputError

    per_example = activation_bytes_per_example(model) * ACTIVATION_FACTOR
    available = available_bytes() if available is None else int(available)
    estimate = {"per_example": per_example, "step": per_example * step_batch_size, "available": available}
    if available is None or estimate["step"] <= available:
        return estimate
    fits = [n for n in range(2, batch_size + 1)
            if batch_size % n == 0 and per_example * (batch_size // n) <= available]
    fix = (f"--accumulate {fits[0]} (each step then holds {batch_size // fits[0]:,} examples and every update "
           f"still uses {batch_size:,}), or a smaller --batch-size" if fits else "a smaller --batch-size")
    gib = 1024 ** 3
    raise InputError(
        f"{what}: one training step at batch {step_batch_size:,} needs about {estimate['step'] / gib:.0f} GiB "
        f"(about {per_example / 1024 ** 2:.1f} MiB per example, estimated from the layer outputs), more than the "
        f"{available / gib:.0f} GiB of memory available here; it would run out of memory inside the step. "
        f"Fix: {fix}.")
