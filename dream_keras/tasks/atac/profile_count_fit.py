"""The steps every profile/count training run shares (bias model and main model alike).

Compiling with ChromBPNet's losses, the resumable fit with its
per-epoch CSV, atomic ``.keras`` saves, and the model's evaluation on test regions.
"""

from __future__ import annotations

import os
import pathlib

from data_prep.outputs import TRAINING_LOG
from data_prep.outputs.atomic import atomic_path
from dream_keras.console import fit_verbosity

#: The official ChromBPNet log's names for the two parts of the loss (``chrombpnet train``'s CSV): the
#: training log repeats ``profile_loss`` and ``logcounts_loss`` (and their ``val_`` forms) under them.
OFFICIAL_LOSS_NAMES = {"profile_loss": "logits_profile_predictions_loss", "logcounts_loss": "logcount_predictions_loss"}


def compile_profile_count(model, *, counts_loss_weight: float, learning_rate: float,
                          jit_compile: bool | str = "auto", step_batch_size: int | None = None,
                          backbone: str | None = None):
    """Compile ``model`` for training with Adam on ChromBPNet's objective; returns the model to fit.

    The objective is ``multinomial NLL + counts_loss_weight * log-count MSE``. The returned
    :class:`~dream_keras.training.weighted_loss_training.WeightedLossTraining` wraps ``model`` (it
    trains ``model``'s variables; save and evaluate ``model`` itself) and logs per epoch ``loss`` =
    ``profile_loss + counts_loss_weight * logcounts_loss`` exactly (the training log adds the official
    names of the two parts, :data:`OFFICIAL_LOSS_NAMES`).

    ``jit_compile``: ``True``/``False``/``"auto"``, as
    :func:`dream_keras.training.performance.resolve_jit_compile` gives it (``True`` holds even with
    op determinism on; ``"measure"`` times the trainer's own steps at ``step_batch_size`` (the global
    batch: every replica's examples) both ways, every
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
        WeightedLossTraining(model, loss, loss_weights))
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate=float(learning_rate)), jit_compile=False)
    apply_jit_compile(trainer, jit_compile, step_batch_size=step_batch_size, backbone=backbone, network=model)
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
    """:func:`dream_keras.training.fitting.fit_resumable` into a run folder.

    Checkpoint in ``logs/checkpoint``, per-epoch CSV ``logs/training_log.csv`` with the official loss names
    beside ours; early stopping on ``val_loss``.

    ``resume`` continues from the checkpoint when there is one (a run killed before its first
    epoch ended starts again from epoch 0).
    """
    from dream_keras.training.fitting import fit_resumable

    has_checkpoint = (run.checkpoints / "state.json").exists()
    return fit_resumable(model, train_data, valid_data, epochs=int(epochs), patience=int(patience),
                         checkpoint_dir=run.checkpoints, log_csv=run.logs / TRAINING_LOG,
                         resume=bool(resume and has_checkpoint), verbose=fit_verbosity(),
                         log_aliases=OFFICIAL_LOSS_NAMES)


def read_training_log(run) -> list[dict]:
    """The per-epoch rows of ``run``'s ``logs/training_log.csv`` (``[]`` when there is none; epochs from 1)."""
    from dream_keras.training import training_log

    return training_log.read_training_log(run.logs / TRAINING_LOG)


def quiet_retracing_warnings():
    """Drop TensorFlow's "triggered tf.function retracing" notices for a block.

    Other TensorFlow messages pass. The evaluation and the QC call several models on batches of several
    sizes, which is expected and harmless (:func:`dream_keras.console.retracing_notices_dropped`).
    """
    from dream_keras.console import retracing_notices_dropped

    return retracing_notices_dropped()
