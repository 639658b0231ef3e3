"""The steps every profile/count training run shares (bias model and main model alike).

Compiling with ChromBPNet's losses, the resumable fit with its
per-epoch CSV, atomic ``.keras`` saves, and the model's evaluation on test regions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib

from data_prep.outputs import TRAINING_LOG
from data_prep.outputs.atomic import atomic_path
from dream_keras.training.fitting import fit_verbosity

#: The official ChromBPNet log's names for the two parts of the loss (``chrombpnet train``'s CSV).
OFFICIAL_LOSS_NAMES = {"profile": ["logits_profile_predictions_loss"], "logcounts": ["logcount_predictions_loss"]}


def compile_profile_count(model, *, counts_loss_weight: float, learning_rate: float,
                          jit_compile: bool | str = "auto", batch_size: int | None = None,
                          backbone: str | None = None):
    """Compile ``model`` for training with Adam on ChromBPNet's objective; returns the model to fit.

    The objective is ``multinomial NLL + counts_loss_weight * log-count MSE``. The returned
    :class:`~dream_keras.training.weighted_loss_training.WeightedLossTraining` wraps ``model`` (it
    trains ``model``'s variables; save and evaluate ``model`` itself) and logs per epoch ``loss`` =
    ``profile_loss + counts_loss_weight * logcounts_loss`` exactly, with the official names
    ``logits_profile_predictions_loss`` / ``logcount_predictions_loss`` for the two parts.

    ``jit_compile``: ``True``/``False``/``"auto"``, as
    :func:`dream_keras.training.performance.resolve_jit_compile` gives it (``True`` holds even with
    op determinism on; ``"measure"`` times the trainer's own steps at ``batch_size`` both ways, every
    variable put back after, and keeps the faster: ``model`` itself is never compiled, so a checkpoint
    holds the same variables whether the choice was measured now or read from the cache, and
    ``--resume`` loads it either way). Under the ``mixed_float16`` policy Keras wraps Adam in a
    ``LossScaleOptimizer``.
    Call it inside the strategy scope the model was built in.
    """
    import keras

    from dream_keras.losses import chrombpnet_loss
    from dream_keras.training.distribution import prepare_model_for_active_strategy
    from dream_keras.training.performance import apply_jit_compile
    from dream_keras.training.weighted_loss_training import WeightedLossTraining

    loss, loss_weights = chrombpnet_loss(counts_loss_weight)
    trainer = prepare_model_for_active_strategy(
        WeightedLossTraining(model, loss, loss_weights, aliases=OFFICIAL_LOSS_NAMES))
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate=float(learning_rate)), jit_compile=False)
    apply_jit_compile(trainer, jit_compile, batch_size=batch_size, backbone=backbone, network=model)
    return trainer


def save_model(model, path: str | os.PathLike) -> pathlib.Path:
    """``model.save`` through a temporary name, renamed when complete."""
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def load_model_file(path: str | os.PathLike, what: str, fix: str):
    """Load a ``.keras`` file (:func:`dream_keras.saving.load_model`).

    A missing or unreadable file raises :class:`InputError` naming it, ``what`` it is and the ``fix``.
    """
    from dream_keras.saving import load_model

    return load_model(path, what=what, fix=fix)


def model_lengths(model) -> tuple[int, int]:
    """``(input_length, output_length)`` of a model with a ``profile`` output."""
    return int(model.inputs[0].shape[1]), int(model.output["profile"].shape[1])


def fit_profile_count(model, train_data, valid_data, *, epochs: int, patience: int, run, resume: bool):
    """Fit a profile/count model resumably into a run folder.

    :func:`dream_keras.training.fitting.fit_resumable` into a run folder (checkpoint in ``logs/checkpoint``, per-epoch
    CSV ``logs/training_log.csv``); early stopping on ``val_loss``.

    ``resume`` continues from the checkpoint when there is one (a run killed before its first
    epoch ended starts again from epoch 0).
    """
    from dream_keras.training.fitting import fit_resumable

    has_checkpoint = (run.checkpoints / "state.json").exists()
    return fit_resumable(model, train_data, valid_data, epochs=int(epochs), patience=int(patience),
                         checkpoint_dir=run.checkpoints, log_csv=run.logs / TRAINING_LOG,
                         resume=bool(resume and has_checkpoint), verbose=fit_verbosity())


def read_training_log(run) -> list[dict]:
    """The per-epoch rows of ``run``'s ``logs/training_log.csv`` (``[]`` when there is none)."""
    import pandas as pd

    path = run.logs / TRAINING_LOG
    if not path.is_file() or path.stat().st_size == 0:
        return []
    return pd.read_csv(path).to_dict(orient="records")


@contextlib.contextmanager
def quiet_retracing_warnings():
    """Silence TensorFlow's Python warnings (e.g. "triggered tf.function retracing") for a block.

    The QC predictions call models on batches of several sizes, which is expected and harmless.
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
