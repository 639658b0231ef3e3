"""Keras ``fit`` with early stopping that survives an interruption.

After every epoch the checkpoint folder holds the model's weights with the optimizer's state, the
best weights so far and the early-stopping state (``state.json``), each written under a temporary name
and renamed. A run killed mid-training resumes from its last finished epoch with the same
optimizer state, the same early-stopping counters and (through ``first_epoch``) the same data
epochs, so it ends where the uninterrupted run would have, up to the randomness of dropout.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import warnings
from collections.abc import Mapping
from typing import Callable

import keras

from data_prep.errors import InputError
from data_prep.outputs import atomic_path
from dream_keras.training.training_log import TrainingLogCSV, epoch_row, write_training_log

#: the checkpoint state's mark that its history rows count epochs from 1 (as the console and the log do)
HISTORY_COUNTED_FROM_ONE = "history_epochs_from_1"


@dataclasses.dataclass
class FitResult:
    """What a finished fit reports.

    history: one dict per epoch (the training log's rows, ``epoch`` counted from 1). best_epoch: index
    (from 0) in ``history`` of the epoch whose weights the model now holds. best_value: the monitored
    value there. stopped_early: whether patience ran out. resumed_from: the first epoch this call
    trained (0 for a fresh run).
    """

    history: list[dict]
    best_epoch: int
    best_value: float
    stopped_early: bool
    resumed_from: int


class CheckpointState(keras.callbacks.Callback):
    """Early stopping on ``monitor`` with best-weight restore, checkpointed after every epoch.

    Callbacks that add the monitored value to the epoch logs (e.g. a validation Pearson r) must run
    before this one.
    """

    def __init__(self, folder: pathlib.Path, *, monitor: str, mode: str, patience: int, state: dict | None = None):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
        self.folder, self.monitor, self.mode, self.patience = folder, monitor, mode, patience
        # "epoch" and "best_epoch" are Keras's epoch indices (from 0); the history rows count from 1
        self.state = state or {"epoch": -1, "best_value": None, "best_epoch": -1, "wait": 0, "stopped_early": False,
                               "history": [], "finished": False, HISTORY_COUNTED_FROM_ONE: True}

    def _improved(self, value: float) -> bool:
        best = self.state["best_value"]
        if best is None:
            return not math.isnan(value)
        return value < best if self.mode == "min" else value > best

    def on_epoch_end(self, epoch, logs=None):
        """Record the epoch, keep the best weights, stop after ``patience``, save the checkpoint."""
        logs = dict(logs or {})
        if self.monitor not in logs:
            raise KeyError(f"the monitored quantity {self.monitor!r} is not in the epoch logs "
                           f"({', '.join(sorted(logs))})")
        value = float(logs[self.monitor])
        self.state["history"].append(epoch_row(epoch, logs))
        if self._improved(value):
            self.state.update(best_value=value, best_epoch=epoch, wait=0)
            with atomic_path(self.folder / "best.weights.h5") as tmp:
                self.model.save_weights(tmp)
        else:
            self.state["wait"] += 1
        self.state["epoch"] = epoch
        if self.state["wait"] >= self.patience:
            self.state["stopped_early"] = True
            self.model.stop_training = True
        save_training_state(self.model, self.folder)
        _write_state(self.folder, self.state)

    def on_train_end(self, logs=None):
        """Restore the best weights and mark the state finished."""
        if (self.folder / "best.weights.h5").exists():
            self.model.load_weights(self.folder / "best.weights.h5")
        self.state["finished"] = True
        _write_state(self.folder, self.state)


def _write_state(folder: pathlib.Path, state: dict) -> None:
    with atomic_path(folder / "state.json") as tmp:
        tmp.write_text(json.dumps(state, indent=1))


def save_training_state(model: keras.Model, folder: pathlib.Path) -> None:
    """The model's weights with its optimizer's variables (Keras keeps both in ``last.weights.h5``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "last.weights.h5") as tmp:
        model.save_weights(tmp)


def load_training_state(model: keras.Model, folder: pathlib.Path) -> None:
    """Restore what :func:`save_training_state` wrote into a compiled ``model``."""
    if not model.optimizer.built:
        # An unbuilt optimizer has no slots to load the saved moments into.
        model.optimizer.build(model.trainable_variables)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*Skipping variable loading.*")
        try:
            model.load_weights(folder / "last.weights.h5")
        except (ValueError, UserWarning) as err:
            raise InputError(f"the checkpoint in {folder} does not fit this model ({err}); it belongs to a "
                             "different run: start without --resume") from None


def _history_from_state(state: dict) -> list[dict]:
    """The checkpoint's history rows, ``epoch`` counted from 1.

    A checkpoint written before the rows were counted from 1 holds Keras's indices: shifted here, so that a
    resumed log counts one way.
    """
    if state.get(HISTORY_COUNTED_FROM_ONE):
        return state["history"]
    state["history"] = [{**row, "epoch": int(row["epoch"]) + 1} for row in state["history"]]
    state[HISTORY_COUNTED_FROM_ONE] = True
    return state["history"]


def one_iterator(train):
    """``(dataset, steps_per_epoch)`` that ``model.fit`` reads through one iterator for the whole run.

    Given a ``tf.data.Dataset`` of ``n`` batches (known cardinality), returns ``(train.repeat(), n)``:
    Keras then keeps a single iterator and plays ``n`` steps per epoch, and each pass of the repeated
    dataset is the next epoch exactly as a fresh iteration would be (a generator-fed dataset calls its
    generator again; a shuffled one reshuffles). Without it, Keras opens a new iterator every epoch
    and lets go of the previous one; with a generator-fed dataset the first step of an epoch then
    waited 3-9 s now and then (measured: a 32/5 BPNet epoch of 57 steps took 10-21 s instead of a
    steady 11 s). Anything else (unknown or infinite cardinality, arrays) is returned as it is.
    """
    cardinality = getattr(train, "cardinality", None)
    if cardinality is None:
        return train, None
    steps = int(cardinality())
    if steps <= 0:  # tf.data.UNKNOWN_CARDINALITY (-2), INFINITE_CARDINALITY (-1), or empty
        return train, None
    return train.repeat(), steps


def fit_resumable(model: keras.Model, train_data, valid_data, *, epochs: int, patience: int,
                  checkpoint_dir: str | os.PathLike, log_csv: str | os.PathLike | None = None,
                  monitor: str = "val_loss", mode: str = "min", resume: bool = False,
                  callbacks: list | None = None, verbose: int | str = "auto",
                  log_aliases: Mapping[str, str] | None = None) -> FitResult:
    """Train a compiled ``model`` with early stopping, restoring the best weights at the end.

    Parameters
    ----------
    train_data : a dataset, or a callable ``first_epoch -> dataset`` so that a resumed run draws the
        same data epochs as an uninterrupted one (e.g. ``data_prep.training_dataset(..., first_epoch=)``).
    valid_data : validation dataset (the same batches every epoch).
    epochs, patience : at most ``epochs`` epochs; stop after ``patience`` epochs without improvement.
    checkpoint_dir : where the per-epoch checkpoint lives (``state.json``, weights, optimizer).
    log_csv : the training log (:mod:`dream_keras.training.training_log`: epochs counted from 1; a resumed
        run's log holds its checkpoint's epochs, then the new ones).
    log_aliases : ``{column: other name}``: columns the log repeats under another name (e.g. the official
        ChromBPNet names of the loss parts); the console prints each once.
    monitor, mode : the early-stopping quantity (``val_loss``/``min``; ``val_pearson_r``/``max`` ...).
    resume : continue the interrupted run in ``checkpoint_dir``.
    callbacks : further callbacks; they run before the checkpoint (so they may add ``monitor``).
    """
    folder = pathlib.Path(checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    state, first_epoch = None, 0
    if resume:
        state_path = folder / "state.json"
        if not state_path.exists():
            raise InputError(f"nothing to resume: {state_path} is missing; start the run without --resume")
        state = json.loads(state_path.read_text())
        _history_from_state(state)
        load_training_state(model, folder)
        if log_csv is not None:
            # A run killed between writing the log and the checkpoint of an epoch would log that
            # epoch twice: the log restarts from the checkpoint's history.
            write_training_log(log_csv, state["history"], log_aliases)
        first_epoch = state["epoch"] + 1
        if state.get("finished") or state.get("stopped_early") or first_epoch >= epochs:
            # Nothing is left to train: say so where the user meets it (the caller evaluates the saved
            # best weights again, which gives the same numbers).
            why = "stopped early" if state.get("stopped_early") else f"reached its {first_epoch} epochs"
            print(f"--resume: this run had finished ({why}; best epoch {state['best_epoch'] + 1}); nothing is "
                  "trained again, the best weights are evaluated again", flush=True)
            model.load_weights(folder / "best.weights.h5")
            return FitResult(state["history"], state["best_epoch"], state["best_value"], state["stopped_early"],
                             first_epoch)
    checkpoint = CheckpointState(folder, monitor=monitor, mode=mode, patience=patience, state=state)
    all_callbacks = list(callbacks or [])
    if log_csv is not None:
        all_callbacks.append(TrainingLogCSV(log_csv, checkpoint.state["history"] if resume else None, log_aliases))
    all_callbacks.append(checkpoint)
    train = train_data(first_epoch) if isinstance(train_data, Callable) and not hasattr(train_data, "element_spec") \
        else train_data
    train, steps_per_epoch = one_iterator(train)
    model.fit(train, validation_data=valid_data, epochs=epochs, initial_epoch=first_epoch, callbacks=all_callbacks,
              verbose=verbose, shuffle=False,  # the datasets shuffle themselves, reproducibly
              steps_per_epoch=steps_per_epoch)
    s = checkpoint.state
    return FitResult(s["history"], s["best_epoch"], s["best_value"], s["stopped_early"], first_epoch)
