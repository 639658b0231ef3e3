"""Prediction of sequence tables with test-time reverse-complement averaging.

``dream-keras predict --task NAME --model A.keras [B.keras ...] --data TABLE --out PRED.tsv`` writes
the input table (with a header line, also for the header-less DREAM yeast format, whose columns are
named ``sequence``, ``expression`` and ``fold``) with one column ``pred_<output>`` added per model
output other than ``bins``: ``pred_expression`` for a soft-bin or yeast model, ``pred_Dev`` and
``pred_Hk`` for STARR-seq, ``pred_activity`` for lentiMPRA. Each value is the mean over the models
and over both orientations given by the task's ``test_time_inputs`` (the forward sequence and its
reverse complement; for lentiMPRA the element only, the adaptors kept).
"""

from __future__ import annotations

import os
import pathlib
from typing import Sequence

import keras
import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.outputs.atomic import atomic_path
from data_prep.tables import TASKS, lentimpra, starrseq
from data_prep.tables.sequence_table import REVERSE_COMPLEMENT_COPY
from dream_keras.saving import load_model
from dream_keras.training.array_batches import ArrayBatches

SEQUENCE_COLUMNS = {"dream_yeast": "sequence", "starrseq": starrseq.SEQUENCE_COLUMN,
                    "lentimpra": lentimpra.SEQUENCE_COLUMN}
"""The column of each task's table that holds the sequences."""

DERIVED_COLUMNS = ("is_singleton", REVERSE_COMPLEMENT_COPY)
"""Columns the loaders add to the table; prediction output leaves them out."""


def prediction_outputs(model: keras.Model) -> list[str]:
    """The outputs that become prediction columns: every output except the soft-bin probabilities."""
    return [name for name in model.output if name != "bins"]


def predict_table_columns(model: keras.Model, inputs: np.ndarray, batch_size: int = 1024, verbose=0) -> dict:
    """The values of the prediction columns, ``{output: (n,) float64}``.

    One per output of :func:`prediction_outputs` (its first value per row).
    """
    raw = model.predict(ArrayBatches(inputs, batch_size=batch_size), verbose=verbose)
    return {name: np.asarray(raw[name][:len(inputs)], dtype=np.float64).reshape(len(inputs), -1)[:, 0]
            for name in prediction_outputs(model)}


def predict_with_reverse_complement(models: Sequence[keras.Model], forward: np.ndarray, reverse: np.ndarray,
                                    batch_size: int = 1024, verbose=0) -> dict:
    """Mean prediction over the models and both orientations.

    Args:
        models: one or more models with the same prediction outputs.
        forward: ``(n, L, C)`` encodings of the sequences.
        reverse: ``(n, L, C)`` encodings of their reverse complements.
        batch_size: sequences per model call.
        verbose: Keras progress output.

    Returns:
        ``{output: (n,) float64}``: ``mean over models m of (m(forward) + m(reverse)) / 2``.
    """
    total = None
    for model in models:
        pair = [predict_table_columns(model, x, batch_size, verbose) for x in (forward, reverse)]
        summed = {name: pair[0][name] + pair[1][name] for name in pair[0]}
        total = summed if total is None else {name: total[name] + summed[name] for name in total}
    return {name: values / (2 * len(models)) for name, values in total.items()}


def test_time_encodings(task: str, sequences: Sequence[str], channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The task's ``(forward, reverse)`` encodings for a model taking ``channels`` input channels.

    STARR-seq and lentiMPRA models with one channel more than the bases take the ``is_reverse`` flag
    (0 forward, 1 reverse complement).
    """
    spec = TASKS[task]
    if task != "dream_yeast" and channels == spec.channels + 1:
        return spec.test_time_inputs(list(sequences), reverse_channel=True)
    return spec.test_time_inputs(list(sequences))


test_time_encodings.__test__ = False  # a library function, not a pytest test


def _check_model_input(model: keras.Model, source: str, task: str) -> int:
    spec = TASKS[task]
    _, length, channels = model.inputs[0].shape
    allowed = (spec.channels,) if task == "dream_yeast" else (spec.channels, spec.channels + 1)
    if length not in (None, spec.input_length) or channels not in allowed:
        raise InputError(f"model {source} takes inputs of shape ({length}, {channels}), but task {task!r} encodes "
                         f"({spec.input_length}, {' or '.join(map(str, allowed))}). Fix: give a model trained for "
                         f"--task {task}.")
    return int(channels)


def load_models(paths: Sequence[str | os.PathLike], task: str) -> list[keras.Model]:
    """Loads ``.keras`` models for ``task``, checking their inputs and that their outputs agree.

    Raises:
        InputError: a file is missing or unreadable, takes the wrong input shape, or the models'
            prediction outputs differ.
    """
    if not paths:
        raise InputError("no model given. Fix: pass --model MODEL.keras (one or more).")
    models = []
    for path in paths:
        path = pathlib.Path(path)
        model = load_model(path, fix="pass the models/model.keras of a run folder written by dream-keras train")
        _check_model_input(model, str(path), task)
        if models and prediction_outputs(model) != prediction_outputs(models[0]):
            raise InputError(f"model {path} predicts {prediction_outputs(model)}, but {paths[0]} predicts "
                             f"{prediction_outputs(models[0])}. Fix: average only models of the same task and head.")
        models.append(model)
    return models


def predict_table(task: str, models: Sequence[keras.Model], frame: pd.DataFrame, batch_size: int = 1024,
                  verbose=0) -> pd.DataFrame:
    """The rows of ``frame`` with ``pred_<output>`` columns (RC-averaged mean over the models).

    Args:
        task: ``dream_yeast``, ``starrseq`` or ``lentimpra``.
        models: one or more loaded models (averaged).
        frame: a table with the task's sequence column (``SEQUENCE_COLUMNS[task]``).
        batch_size: sequences per model call.
        verbose: Keras progress output.

    Returns:
        a copy of ``frame`` without the loaders' derived columns, plus the prediction columns.
    """
    channels = _check_model_input(models[0], models[0].name, task)
    sequences = frame[SEQUENCE_COLUMNS[task]].astype(str).tolist()
    forward, reverse = test_time_encodings(task, sequences, channels)
    predicted = predict_with_reverse_complement(models, forward, reverse, batch_size, verbose)
    out = frame.drop(columns=[c for c in DERIVED_COLUMNS if c in frame.columns]).copy()
    for name, values in predicted.items():
        out[f"pred_{name}"] = values
    return out


def write_tsv_atomic(frame: pd.DataFrame, path: str | os.PathLike) -> pathlib.Path:
    """Writes ``frame`` as a tab-separated table with a header, through a temporary file."""
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        # 9 significant digits: a float32 prediction is written exactly (it round-trips)
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.9g")
    return path


def predict_table_task(task: str, models: Sequence[str | os.PathLike | keras.Model], data: str | os.PathLike,
                       out: str | os.PathLike | None = None, *, batch_size: int = 1024, verbose=0) -> pd.DataFrame:
    """Predicts every row of a task table with one or more models (see the module docstring).

    Args:
        task: ``dream_yeast``, ``starrseq`` or ``lentimpra``.
        models: ``.keras`` paths or loaded models (averaged).
        data: the table, in the task's format (measurement columns optional).
        out: where to write the TSV (atomically); None writes nothing.
        batch_size: sequences per model call.
        verbose: Keras progress output.

    Returns:
        the input rows with the ``pred_<output>`` columns.

    Raises:
        InputError: unknown task, a bad table (file and line named) or a model that does not fit the task.
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}. Fix: use one of {sorted(TASKS)}.")
    if all(isinstance(model, keras.Model) for model in models) and models:
        loaded = list(models)
    else:
        loaded = load_models([os.fspath(model) for model in models], task)
    table = TASKS[task].load(data, require_targets=False)  # checks every row, naming file and line
    predicted = predict_table(task, loaded, table.table, batch_size, verbose)
    if out is not None:
        write_tsv_atomic(predicted, out)
    return predicted


__all__ = ["SEQUENCE_COLUMNS", "load_models", "predict_table", "predict_table_columns",
           "predict_table_task", "predict_with_reverse_complement", "prediction_outputs", "test_time_encodings",
           "write_tsv_atomic"]
