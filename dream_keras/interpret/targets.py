"""Which model output is explained, and how it becomes one number per sequence.

Interpretation needs a scalar per sequence. The rules (the same for ISM, gradients and variants):

- ``"logcounts"`` (alias ``"counts"``): the predicted log total counts, summed over tasks when the
  head has several (as ChromBPNet's DeepSHAP counts target, ``reduce_sum(logcounts, axis=-1)``).
- ``"profile"``: ChromBPNet's profile target, the softmax-weighted sum of the mean-normalised
  logits, ``sum_i softmax(l)_i * (l_i - mean(l))``, per task (the profile is ``(n, output_length *
  tasks)``, position-major) and summed over tasks. Mean-normalising makes the number independent
  of the arbitrary offset of softmax logits ("Adjustments for Softmax Layers", DeepLIFT paper);
  for gradients the softmax weights are held constant (``stop_gradient``), as ChromBPNet does.
- any other output of width 1 (``expression``, ``activity``, ``Dev``, ``Hk``, ...): its value.

Outputs of several columns other than these (``bins`` of ``soft_bins``) have no scalar meaning and
are refused.
"""

from __future__ import annotations

import numpy as np

from data_prep.errors import InputError

PROFILE = "profile"
LOGCOUNTS = "logcounts"
ALIASES = {"counts": LOGCOUNTS}
# Default output, in order of preference, when the caller names none.
DEFAULT_OUTPUTS = (LOGCOUNTS, "expression")


def model_output_names(model) -> list[str]:
    """Output names of a Keras model (the keys of its dict outputs)."""
    output = getattr(model, "output", None)
    if isinstance(output, dict):
        return list(output)
    return list(getattr(model, "output_names", None) or [])


def output_widths(model) -> dict[str, int]:
    """Output name -> values per example (e.g. ``{"profile": 1000, "logcounts": 1}``)."""
    output = getattr(model, "output", None)
    if isinstance(output, dict):
        return {name: int(np.prod(tensor.shape[1:])) for name, tensor in output.items()}
    shapes = [model.output_shape] if len(model_output_names(model)) == 1 else list(model.output_shape)
    return {name: int(np.prod(shape[1:])) for name, shape in zip(model_output_names(model), shapes)}


def scalar_output_names(model) -> list[str]:
    """The outputs that :func:`scalar_target` can explain, in the model's order."""
    widths = output_widths(model)
    return [name for name, width in widths.items() if name in (PROFILE, LOGCOUNTS) or width == 1]


def resolve_output(model, output: str | None) -> str:
    """The output name to explain: ``output`` (aliases resolved) or the model's default.

    Raises:
        InputError: ``output`` is not a scalar-explainable output of the model, or the model has
            several and none is the default (``logcounts``, then ``expression``).
    """
    choices = scalar_output_names(model)
    if output is None:
        for name in DEFAULT_OUTPUTS:
            if name in choices:
                return name
        if len(choices) == 1:
            return choices[0]
        raise InputError(f"model {model.name!r} has several outputs {choices}; choose one with output=... "
                         f"(--output on the command line)")
    name = ALIASES.get(output, output)
    if name not in choices:
        widths = output_widths(model)
        why = (f"output {name!r} has {widths[name]} values per example and no scalar summary"
               if name in widths else f"the model has no output {name!r}")
        raise InputError(f"cannot explain {output!r} of model {model.name!r}: {why}; choose one of {choices}")
    return name


def profile_tasks(outputs: dict) -> int:
    """Number of profile tracks: the width of ``logcounts`` when present, else 1."""
    logcounts = outputs.get(LOGCOUNTS)
    return int(np.prod(logcounts.shape[1:])) if logcounts is not None else 1


def weighted_profile_logits(logits: np.ndarray, tasks: int = 1) -> np.ndarray:
    """ChromBPNet's profile target in numpy: ``(n, positions * tasks)`` logits -> ``(n,)``."""
    logits = np.asarray(logits, dtype=np.float64).reshape(len(logits), -1, tasks)
    centred = logits - logits.mean(axis=1, keepdims=True)
    weights = np.exp(centred - centred.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights * centred).sum(axis=(1, 2))


def scalar_target(outputs: dict, name: str) -> np.ndarray:
    """One number per sequence from predicted outputs (numpy), following the module's rules.

    Args:
        outputs: ``{output name: (n, ...) array}`` as :func:`predict_outputs` returns.
        name: a name from :func:`resolve_output`.

    Returns:
        ``(n,)`` float64.
    """
    value = np.asarray(outputs[name], dtype=np.float64)
    if name == PROFILE:
        return weighted_profile_logits(value, profile_tasks(outputs))
    value = value.reshape(len(value), -1)
    if name == LOGCOUNTS or value.shape[1] == 1:
        return value.sum(axis=1)
    raise InputError(f"output {name!r} has {value.shape[1]} values per example and no scalar summary")


def scalar_target_tensor(outputs: dict, name: str):
    """:func:`scalar_target` on symbolic or eager tensors with ``keras.ops`` (differentiable).

    The profile's softmax weights pass through ``stop_gradient``, so the gradient explains the
    logits the weights select, not how the weights came about (ChromBPNet's choice).
    """
    from keras import ops

    value = outputs[name]
    if name == PROFILE:
        tasks = profile_tasks(outputs)
        logits = ops.reshape(value, (-1, int(np.prod(value.shape[1:])) // tasks, tasks))
        centred = logits - ops.mean(logits, axis=1, keepdims=True)
        weights = ops.softmax(ops.stop_gradient(centred), axis=1)
        return ops.sum(weights * centred, axis=(1, 2))
    # The width from the output's own static shape: a traced batch of unknown size (a tf.function
    # that relaxed its input shape) would leave a reshape to (batch, -1) of unknown width.
    width = int(np.prod(value.shape[1:]))
    if name == LOGCOUNTS or width == 1:
        return ops.sum(ops.reshape(value, (-1, width)), axis=1)
    raise InputError(f"output {name!r} has {width} values per example and no scalar summary")
