"""Batched prediction of any Keras model with dict outputs, as numpy arrays."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm


def output_dict(model, batch_outputs) -> dict[str, np.ndarray]:
    """A model's outputs for one batch as ``{name: ndarray}``.

    Models of this project return dicts; a plain Keras model with list outputs is mapped through
    ``model.output_names`` so that interpretation accepts it too.
    """
    if isinstance(batch_outputs, dict):
        return {name: np.asarray(value) for name, value in batch_outputs.items()}
    if not isinstance(batch_outputs, (list, tuple)):
        batch_outputs = [batch_outputs]
    names = list(getattr(model, "output_names", None) or [f"output_{i}" for i in range(len(batch_outputs))])
    return {name: np.asarray(value) for name, value in zip(names, batch_outputs)}


def predict_outputs(model, sequences: np.ndarray, *, batch_size: int = 64, progress: bool = False,
                    desc: str = "predict", transform: Callable[[np.ndarray], np.ndarray] | None = None,
                    outputs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Predict ``sequences`` in batches (inference mode: dropout off, batch-norm statistics frozen).

    Args:
        model: a Keras model (``SequenceModel``, a bias-factorised model, any model with dict outputs).
        sequences: ``(n, length, channels)`` one-hot arrays (uint8 or float); each batch is converted
            to float32 on its own, so a large uint8 array is never copied whole.
        batch_size: sequences per model call.
        progress: show a tqdm bar.
        desc: the bar's label.
        transform: applied to each float32 batch before the model (e.g. reverse complement).
        outputs: names of the outputs to keep (default: all); the others are dropped batch by batch,
            so that e.g. log-counts of many regions do not hold their profiles too.

    Returns:
        ``{output name: (n, ...) float array}``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size is {batch_size}; pass a positive number of sequences per batch")
    n = len(sequences)
    if n == 0:
        raise ValueError("no sequences to predict; pass an (n, length, channels) array with n >= 1")
    chunks: dict[str, list[np.ndarray]] = {}
    starts = range(0, n, batch_size)
    for start in tqdm(starts, desc=desc, unit="batch", disable=not progress, leave=False):
        batch = np.asarray(sequences[start:start + batch_size], dtype=np.float32)
        if transform is not None:
            batch = np.ascontiguousarray(transform(batch))
        for name, value in output_dict(model, model.predict_on_batch(batch)).items():
            if outputs is None or name in outputs:
                chunks.setdefault(name, []).append(value)
    return {name: np.concatenate(values, axis=0) for name, values in chunks.items()}


def model_input_shape(model) -> tuple:
    """``(length, channels)`` the model takes (``None`` where it accepts any)."""
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, dict):
        shape = next(iter(shape.values()))
    if isinstance(shape, list):
        shape = shape[0]
    return tuple(shape[1:]) if shape is not None else (None, None)


def check_sequences(model, sequences) -> np.ndarray:
    """``sequences`` as an array, checked against the model's input ``(length, channels)``.

    Raises:
        InputError: not ``(n >= 1, length, channels)`` as the model takes.
    """
    from data_prep.errors import InputError

    sequences = np.asarray(sequences)
    expected = model_input_shape(model)
    if sequences.ndim != 3 or len(sequences) == 0 or any(
            want is not None and want != got for want, got in zip(expected, sequences.shape[1:])):
        raise InputError(f"model {getattr(model, 'name', '')!r} takes sequences of shape (n, {expected[0]}, "
                         f"{expected[1]}); got an array of shape {sequences.shape}")
    return sequences
