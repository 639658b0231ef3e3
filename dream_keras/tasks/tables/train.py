"""Training any backbone x head on a sequence table (DREAM yeast, STARR-seq, lentiMPRA) with a recipe.

``dream-keras train --task dream_yeast|starrseq|lentimpra --data TABLE [--valid TABLE] [--backbone NAME]
[--head NAME] [--recipe dream|deepstarr|mprann] [--fold k|all] --out DIR`` calls :func:`train_table_task`,
as Python code does. A run folder holds::

    DIR/models/model.keras          the best epoch's model
    DIR/logs/run.json               every resolved parameter and the inputs' sizes and SHA-256
    DIR/logs/training_log.csv       one row per epoch (loss, val_pearson_r, val_<task>_pearson_r, ...)
    DIR/logs/checkpoint/            the resumable checkpoint (``--resume``)
    DIR/evaluation/metrics.json     Pearson r, Spearman rho and MSE per task per held-out set
                                    (with test-time reverse-complement averaging; DREAM score for yeast)
    DIR/evaluation/predictions_<set>.tsv, scatter_<set>.png

``--fold all`` (lentiMPRA) writes ``DIR/fold_<k>/`` run folders, ``DIR/logs/run.json`` and
``DIR/summary.tsv`` (one row per fold); ``--resume`` skips the folds already evaluated.

Data per task (validation = the rows that pick the best epoch; evaluation = valid and test rows):

- ``dream_yeast``: validation = ``--valid`` or a random ``valid_fraction`` (10 %) of ``--data``.
  Training and validation rows are doubled with reverse complements (``is_reverse`` = 1), as Prix
  Fixe does; targets are the 18 soft bins for a ``soft_bins`` head, the expression otherwise.
- ``starrseq``: validation = ``--valid``, else the ``set`` column's Val rows (with its Test rows as
  test), else ``valid_chromosomes`` / ``test_chromosomes`` of the ``seqnames`` column.
- ``lentimpra``: ``--fold k`` = round k of the 10-fold cross-validation (test fold k, validation the
  next fold, the rest training; reverse-complement pairs share a fold); or ``--valid``.
- The STARR-seq and lentiMPRA tables already hold both orientations of each element as rows, so
  they are not doubled unless ``augment=True`` (each task's own reverse complement: lentiMPRA's keeps
  the adaptors). ``reverse_channel=True`` adds the ``is_reverse`` input channel (the DREAM benchmark's
  fifth channel).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
from typing import Callable, Sequence

import keras
import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.outputs import TRAINING_LOG, RunFolder, atomic_path, open_output, write_json_atomic
from data_prep.tables import TASKS, SequenceTable, SplitIndices, with_reverse_complements
from data_prep.tables import starrseq as starrseq_module
from dream_keras.console import fit_verbosity
from dream_keras.model import build_model
from dream_keras.registry import IncompatibleHeadError, get_backbone, get_head
from dream_keras.tasks.parameter_defaults import field_default
from dream_keras.tasks.tables.evaluation import evaluation_record, scatter_plot
from dream_keras.tasks.tables.parameters import DEFAULT_BACKBONE, TableTrainParameters
from dream_keras.tasks.tables.prediction import predict_table, predict_table_task, write_tsv_atomic
from dream_keras.training import memory_check, performance
from dream_keras.training.array_batches import ArrayBatches
from dream_keras.training.distribution import prepare_model_for_active_strategy
from dream_keras.training.fitting import FitResult, fit_resumable
from dream_keras.training.recipes import RECIPES, Recipe, ValidationMetrics, recipe_for, table_losses
from dream_keras.training.seeding import seed_everything


@dataclasses.dataclass
class TableData:
    """One run's rows.

    Attributes:
        train: training rows (reverse-complement copies appended when augmenting).
        valid: validation rows for choosing the best epoch (augmented like ``train``).
        evaluation: ``"valid"`` and (when not empty) ``"test"`` rows as read, for the final scores.
        split: how the rows were split, for ``run.json``.
    """

    train: SequenceTable
    valid: SequenceTable
    evaluation: dict
    split: dict


@dataclasses.dataclass
class TableRun:
    """A finished run: its folder, best model, fit history and ``metrics.json`` contents."""

    folder: RunFolder
    model: keras.Model
    fit: FitResult
    metrics: dict
    parameters: dict


@dataclasses.dataclass
class CrossValidationRuns:
    """``--fold all``: one run per fold and the summary table (also written to ``summary.tsv``)."""

    root: pathlib.Path
    runs: dict
    summary: pd.DataFrame


def _load(task: str, path, reverse_channel: bool) -> SequenceTable:
    if task == "dream_yeast":
        if reverse_channel:
            raise InputError("dream_yeast already has its is_reverse channel; drop reverse_channel.")
        return TASKS[task].load(path, dtype=np.uint8)
    return TASKS[task].load(path, dtype=np.uint8, reverse_channel=reverse_channel)


def _absolute(path) -> str | None:
    return None if path is None else str(pathlib.Path(os.fspath(path)).expanduser().resolve())


def _parse_fold(task: str, fold) -> int | str | None:
    if fold is None:
        return None
    if task != "lentimpra":
        raise InputError(f"--fold is for lentimpra's cross-validation folds, not task {task!r}. Fix: drop --fold "
                         "and give --valid.")
    if str(fold) == "all":
        return "all"
    try:
        return int(fold)
    except ValueError:
        raise InputError(f"--fold {fold!r}: give a fold label (e.g. 0) or 'all'.") from None


def _split_rows(task: str, table: SequenceTable, *, fold, valid_fraction: float, valid_chromosomes,
                test_chromosomes, seed: int, fold_labels=None) -> tuple[SplitIndices, dict]:
    """Held-out rows of ``table`` when no validation table is given."""
    if task == "dream_yeast":
        split = TASKS[task].split(table, valid_fraction=valid_fraction, test_fraction=0.0, seed=seed)
        return split, {"method": "random", "valid_fraction": valid_fraction, "seed": seed}
    if task == "lentimpra":
        if fold is None:
            raise InputError(f"{table.source}: lentimpra needs --fold k (cross-validation on the fold column), "
                             "--fold all, or --valid TABLE.")
        split = TASKS[task].split(table, fold, folds=fold_labels)
        valid_fold = int(table.table["fold"].iloc[split.valid[0]]) if len(split.valid) else None
        return split, {"method": "cross_validation", "test_fold": fold, "valid_fold": valid_fold}
    if valid_chromosomes:
        split = starrseq_module.split_by_chromosome(table, valid_chromosomes, test_chromosomes or [])
        return split, {"method": "chromosomes", "valid_chromosomes": list(valid_chromosomes),
                       "test_chromosomes": list(test_chromosomes or [])}
    if starrseq_module.SET_COLUMN in table.table.columns:
        split = starrseq_module.split_by_set_column(table)
        if len(split.valid):
            return split, {"method": "set_column"}
    raise InputError(f"{table.source}: no validation rows for starrseq. Fix: give --valid TABLE, or a 'set' column "
                     "with Val rows (from Python also valid_chromosomes=[...] of train_table_task).")


def prepare_table_data(task: str, data, *, valid=None, fold=None,
                       valid_fraction: float = field_default(TableTrainParameters, "valid_fraction"),
                       valid_chromosomes: Sequence[str] | None = None, test_chromosomes: Sequence[str] | None = None,
                       seed: int = field_default(TableTrainParameters, "seed"), augment: bool | None = None,
                       reverse_channel: bool = field_default(TableTrainParameters, "reverse_channel"),
                       table: SequenceTable | None = None, fold_labels=None) -> TableData:
    """Loads and splits one run's rows (see the module docstring for each task's rules).

    Args:
        task: ``dream_yeast``, ``starrseq`` or ``lentimpra``.
        data: the table path.
        valid: a validation table path (``None``: held-out rows of ``data``).
        fold: lentiMPRA test fold label.
        valid_fraction: DREAM yeast: the share of ``data`` held out for validation without ``valid``.
        valid_chromosomes: STARR-seq: validation chromosomes (of the ``seqnames`` column).
        test_chromosomes: STARR-seq: test chromosomes.
        seed: seed of the held-out draw.
        augment: append reverse-complement copies to training and validation rows; None = the task's
            default (yes for DREAM yeast only).
        reverse_channel: add the ``is_reverse`` input channel.
        table: ``data`` already loaded (``--fold all`` reads it once).
        fold_labels: ``table``'s fold of each row, already computed (``--fold all``).

    Raises:
        InputError: a bad table (file and line named), no validation rows, or options that do not fit.
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}. Fix: use one of {sorted(TASKS)}.")
    table = table if table is not None else _load(task, data, reverse_channel)
    if not table.targets:
        raise InputError(f"{data}: no measurements to train on. Fix: give a table with the task's target columns.")
    if valid is not None:
        if fold is not None:
            raise InputError("--valid and --fold both choose validation rows. Fix: give one of them.")
        train, valid_rows, test = table, _load(task, valid, reverse_channel), None
        split = {"method": "valid_table"}
    else:
        indices, split = _split_rows(task, table, fold=fold, valid_fraction=valid_fraction,
                                     valid_chromosomes=valid_chromosomes, test_chromosomes=test_chromosomes,
                                     seed=seed, fold_labels=fold_labels)
        train, valid_rows = table.subset(indices.train), table.subset(indices.valid)
        test = table.subset(indices.test) if len(indices.test) else None
    if len(train) == 0 or len(valid_rows) == 0:
        raise InputError(f"{data}: {len(train)} training and {len(valid_rows)} validation rows; both need rows. "
                         "Fix: give more rows or another split.")
    if not valid_rows.targets:
        raise InputError(f"{valid}: no measurements to validate on. Fix: give a table with the target columns.")
    augment = task == "dream_yeast" if augment is None else bool(augment)
    evaluation = {"valid": valid_rows, **({"test": test} if test is not None else {})}
    split.update(augmented_with_reverse_complements=augment, n_train_rows=len(train), n_valid_rows=len(valid_rows),
                 n_test_rows=0 if test is None else len(test))
    if augment:
        train, valid_rows = with_reverse_complements(train), with_reverse_complements(valid_rows)
    return TableData(train, valid_rows, evaluation, split)


def task_dream_head(task: str) -> str:
    """The DREAM head of a task: ``soft_bins`` where the task has bin targets (yeast), else ``regression``."""
    return "soft_bins" if TASKS[task].soft_bins else "regression"


def resolve_head(task: str, backbone: str, head: str | None) -> str:
    """The head to use.

    ``head``, else the task's DREAM head (``soft_bins`` for yeast, ``regression`` otherwise) for a backbone whose
    registry entry says ``head_per_task`` or names no head, else the backbone's own (a baseline's published head, e.g.
    ``deepstarr``).
    """
    spec = TASKS[task]
    try:
        bspec = get_backbone(backbone)
        if head is not None:
            get_head(head)
    except KeyError as error:
        raise InputError(f"{error.args[0]}. Fix: choose a registered name.") from None
    if head is not None:
        chosen = head
    elif bspec.head_per_task or bspec.default_head is None:
        chosen = task_dream_head(task)
    else:
        chosen = bspec.default_head
    if chosen == "soft_bins" and not spec.soft_bins:
        raise InputError(f"head 'soft_bins' predicts DREAM yeast expression bins; task {task!r} has no bin targets. "
                         "Fix: use --head regression (or the baseline's head).")
    return chosen


def build_table_model(task: str, backbone: str, head: str, channels: int, model_options: dict | None = None):
    """``build_model`` for the task's input (length, channels, alphabet) and task names.

    Raises:
        InputError: ``model_options`` asks for another input length or channel count than the data has,
            or holds an option neither part takes (or a value it refuses).
        IncompatibleHeadError: the head cannot follow the backbone at the task's input length.
    """
    spec = TASKS[task]
    options = {"input_length": spec.input_length, "channels": int(channels), "alphabet": spec.alphabet}
    if "task_names" in get_head(head).options:
        options["task_names"] = list(spec.task_names)
    for key in ("input_length", "channels"):
        given = (model_options or {}).get(key)
        if given is not None and int(given) != options[key]:
            raise InputError(f"model option {key}={given}, but task {task!r} gives {options[key]}. Fix: drop it.")
    options.update(model_options or {})
    try:
        return build_model(backbone, head, **options)
    except IncompatibleHeadError:
        raise
    except (TypeError, ValueError) as error:  # an unknown or impossible --model-option
        raise InputError(f"backbone {backbone!r} with head {head!r}: {error}. Fix: check the model options "
                         f"{sorted((model_options or {}).items())}.") from None


def _fit_targets(table: SequenceTable, task_names, soft_bins: bool) -> dict:
    if soft_bins:
        return {"bins": table.targets["bins"]}
    return {task: table.targets[task] for task in task_names}


def _fit(model, data: TableData, recipe: Recipe, run: RunFolder, *, task: str, soft_bins: bool, seed: int,
         resume: bool, verbose, jit_compile: str) -> FitResult:
    spec = TASKS[task]
    steps_per_epoch = max(1, len(data.train) // recipe.global_batch_size)  # full updates only (ArrayBatches)
    xla = performance.resolve_jit_compile(jit_compile, model.backbone_name)
    model.compile(optimizer=recipe.make_optimizer(steps_per_epoch),
                  loss=table_losses(list(model.output), spec.task_names, soft_bins), jit_compile=False)
    step_batch = recipe.step_batch_size  # global batch / accumulate: the examples one step holds
    performance.apply_jit_compile(model, xla, step_batch_size=step_batch, backbone=model.backbone_name)
    train_targets = _fit_targets(data.train, spec.task_names, soft_bins)
    # One prediction pass gives the validation loss and correlations (no second pass by Keras).
    validation = ValidationMetrics(ArrayBatches(data.valid.sequences, batch_size=step_batch),
                                   {task_name: data.valid.targets[task_name] for task_name in spec.task_names},
                                   loss_targets=_fit_targets(data.valid, spec.task_names, soft_bins))

    def training_batches(first_epoch: int) -> ArrayBatches:
        return ArrayBatches(data.train.sequences, train_targets, batch_size=step_batch, shuffle=True,
                            seed=seed, first_epoch=first_epoch, accumulate=recipe.accumulate)

    return fit_resumable(model, training_batches, None, epochs=recipe.epochs,
                         patience=recipe.effective_patience(), checkpoint_dir=run.checkpoints,
                         log_csv=run.logs / TRAINING_LOG, monitor=recipe.monitor, mode=recipe.mode, resume=resume,
                         callbacks=[validation], verbose=fit_verbosity() if verbose == "auto" else verbose)


def evaluate_table_model(task: str, model, evaluation: dict, run: RunFolder, batch_size: int) -> dict:
    """Scores ``model`` on each held-out set with test-time reverse-complement averaging.

    Writes ``evaluation/predictions_<set>.tsv`` and ``scatter_<set>.png``.

    Returns:
        set name -> :func:`~dream_keras.tasks.tables.evaluation.evaluation_record`.
    """
    spec = TASKS[task]
    records = {}
    for name, table in evaluation.items():
        predicted = predict_table(task, [model], table.table, batch_size=batch_size)
        measured = {task_name: table.targets[task_name] for task_name in spec.task_names}
        guesses = {task_name: predicted[f"pred_{task_name}"].to_numpy() for task_name in spec.task_names}
        records[name] = evaluation_record(task, measured, guesses)
        write_tsv_atomic(predicted, run.evaluation / f"predictions_{name}.tsv")
        scatter_plot(run.evaluation / f"scatter_{name}.png", measured, guesses,
                     f"{task} {model.name}: {name} set (reverse-complement averaged)")
    return records


def _run_one(task: str, data: TableData, prepare_run: Callable[[], RunFolder], *, backbone: str, head: str,
             recipe: Recipe, model_options: dict | None, seed: int, resume: bool, verbose, parameters: dict,
             inputs: dict, jit_compile: str) -> TableRun:
    seed_everything(seed)
    model = build_table_model(task, backbone, head, data.train.sequences.shape[-1], model_options)
    model = prepare_model_for_active_strategy(model)  # --strategy: see dream_keras.training.distribution
    if not performance.has_gpu():  # CPU runs share the machine's memory: stop before a step that cannot fit
        memory_check.check_step_memory(model, global_batch_size=recipe.global_batch_size,
                                       step_batch_size=recipe.step_batch_size,
                                       what=f"{backbone} on {task}")
    run = prepare_run()  # only now: a refused run leaves no folder behind
    parameters = {**parameters, "resolved_model_options": dict(model.model_options), "split": data.split}
    run.write_run_json("train", parameters, inputs)
    print(run_header(task, model, head, recipe, data, run), flush=True)
    # A run stopped before its first checkpoint has nothing to resume from: it starts again.
    resume = resume and (run.checkpoints / "state.json").is_file()
    fit = _fit(model, data, recipe, run, task=task, soft_bins=head == "soft_bins", seed=seed, resume=resume,
               verbose=verbose, jit_compile=jit_compile)
    with atomic_path(run.models / "model.keras") as tmp:
        model.save(tmp)
    sets = evaluate_table_model(task, model, data.evaluation, run, batch_size=recipe.step_batch_size)
    metrics = {"task": task, "backbone": backbone, "head": head, "recipe": recipe.name,
               "test_time_reverse_complement": True, "monitor": recipe.monitor,
               # epochs are counted from 1 wherever a person reads them (console, JSON, summary.tsv, figures)
               "best_epoch": fit.best_epoch + 1,
               "best_value": fit.best_value, "epochs_trained": len(fit.history), "stopped_early": fit.stopped_early,
               "primary_set": "test" if "test" in sets else "valid", "split": data.split, "sets": sets}
    write_json_atomic(run.evaluation / "metrics.json", metrics)
    return TableRun(run, model, fit, metrics, parameters)


def run_header(task: str, model, head: str, recipe: Recipe, data: TableData, run: RunFolder) -> str:
    """The line printed before training: what trains on what, with which recipe, into which folder."""
    held_out = ", ".join(f"{name} {len(table.sequences):,}" for name, table in data.evaluation.items())
    steps = f" in steps of {recipe.step_batch_size}" if recipe.accumulate > 1 else ""
    return (f"[{task}] training {model.backbone_name} + {head} ({model.count_params():,} parameters) on "
            f"{len(data.train.sequences):,} sequences (validation {len(data.valid.sequences):,}; held out: "
            f"{held_out or 'none'}); recipe {recipe.name}: batch {recipe.global_batch_size}{steps}, up to "
            f"{recipe.epochs} epochs, best epoch by {recipe.monitor} -> {run.root}")


def train_table_task(task: str, data, *, out, overwrite: bool = False, resume: bool = False, verbose="auto",
                     **options):
    """Trains a model on a task table: :func:`train_tables` with the parameters given as keywords.

    Args:
        task: ``dream_yeast``, ``starrseq`` or ``lentimpra``.
        data: the training table.
        out: the run folder (see :func:`train_tables`).
        overwrite: replace an earlier run in ``out``.
        resume: continue the interrupted run in ``out``.
        verbose: Keras progress output.
        **options: any other field of :class:`~dream_keras.tasks.tables.parameters.TableTrainParameters`
            (``backbone``, ``head``, ``fold``, ``epochs``, ``lr``, ``model_options``, ...).

    Returns:
        :class:`TableRun`, or :class:`CrossValidationRuns` for ``fold="all"``.
    """
    fields = {field.name for field in dataclasses.fields(TableTrainParameters)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise InputError(f"train_table_task got unknown option(s) {unknown}. Fix: use the fields of "
                         f"TableTrainParameters: {sorted(fields - {'task', 'data'})}.")
    params = TableTrainParameters(task=task, data=data, **options)
    return train_tables(params, out, overwrite=overwrite, resume=resume, verbose=verbose)


def train_tables(params: TableTrainParameters, out, *, overwrite: bool = False, resume: bool = False,
                 verbose="auto"):
    """Trains ``params.backbone`` + ``params.head`` on a task table with a recipe and writes a run folder.

    Args:
        params: every parameter of the run (see :class:`~dream_keras.tasks.tables.parameters.TableTrainParameters`;
            ``None`` values take the recipe's or the task's). With ``strategy`` ``mirrored`` or
            ``multiworker``, ``batch_size`` is per replica, each step trains on ``batch_size`` x
            replicas rows and the learning rate is not scaled; on a multi-worker cluster only the
            chief writes ``out``. ``accumulate``: each step holds ``batch_size / accumulate`` rows,
            the update uses ``batch_size`` (:class:`Recipe`).
        out: the run folder (refused when not empty, unless ``overwrite`` or ``resume``).
        overwrite: replace an earlier run in ``out`` (only what its manifest lists).
        resume: continue the interrupted run in ``out`` from its last checkpoint.
        verbose: Keras progress output.

    Returns:
        :class:`TableRun`, or :class:`CrossValidationRuns` for ``fold="all"``.
    """
    task, data, valid = params.task, params.data, params.valid
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}. Fix: use one of {sorted(TASKS)}.")
    fold = _parse_fold(task, params.fold)
    if fold is not None and valid is not None:
        raise InputError("--valid and --fold both choose validation rows. Fix: give one of them.")
    backbone = params.backbone or DEFAULT_BACKBONE
    head = resolve_head(task, backbone, params.head)
    if params.recipe is not None and params.recipe not in RECIPES:
        raise InputError(f"unknown recipe {params.recipe!r}. Fix: use one of {sorted(RECIPES)}.")
    try:
        chosen = recipe_for(backbone, params.recipe).resolved(
            learning_rate=params.lr, per_replica_batch_size=params.batch_size, epochs=params.epochs,
            patience=params.patience, accumulate=params.accumulate)
    except ValueError as error:
        raise InputError(f"{error}. Fix: give an --accumulate that divides the batch size.") from None
    # The resolved values under the options' names, so that `dream-keras train --config run.json` repeats the run.
    parameters = {**params.as_dict(), "data": _absolute(data), "valid": _absolute(valid), "fold": fold,
                  "backbone": backbone, "head": head, "recipe": chosen.name, "epochs": chosen.epochs,
                  "patience": chosen.patience, "lr": chosen.learning_rate,
                  # --batch-size is per replica; recipe_settings and distribution name the derived sizes
                  "batch_size": chosen.per_replica_batch_size,
                  "model_options": dict(params.model_options or {}),
                  "precision": performance.check_precision(params.precision), "accumulate": chosen.accumulate}
    from dream_keras.training.distribution import make_strategy, training_scope

    plan = make_strategy(params.strategy)
    # every update reads the global batch (per replica x replicas), which the strategy splits
    recipe = chosen.for_replicas(plan.replicas)
    parameters["recipe_settings"] = recipe.to_dict()
    parameters["distribution"] = plan.record(recipe.per_replica_batch_size)
    inputs = {"data": data, "valid": valid}
    common = dict(backbone=backbone, head=head, recipe=recipe, model_options=params.model_options,
                  seed=params.seed, verbose=verbose, inputs=inputs, jit_compile=params.jit_compile)
    split_options = dict(valid_fraction=params.valid_fraction, valid_chromosomes=params.valid_chromosomes,
                         test_chromosomes=params.test_chromosomes, seed=params.seed, augment=params.augment,
                         reverse_channel=params.reverse_channel)
    # --out is refused (or opened) before the tables are read; --overwrite builds the run beside the old
    # one and swaps it in once finished
    with open_output(out, overwrite=overwrite, resume=resume, chief=plan.is_chief, resume_needs=_RESUME_NEEDS) \
            as output, training_scope(plan, params.precision):
        if fold == "all":
            result = _train_all_folds(task, data, output, folds=params.folds, parameters=parameters,
                                      split_options=split_options, **common)
        else:
            print(f"[{task}] reading {data}" + (f" and {valid}" if valid else ""), flush=True)
            table_data = prepare_table_data(task, data, valid=valid, fold=fold, **split_options)
            result = _run_one(task, table_data, functools.partial(RunFolder.create, output.path,
                                                                  resume=output.resumed),
                              resume=output.resumed, parameters=parameters, **common)
    # reported where the files are once the command has finished (an --overwrite swapped them in)
    if isinstance(result, CrossValidationRuns):
        return dataclasses.replace(result, root=output.final)
    return dataclasses.replace(result, folder=RunFolder(output.final))


#: what ``--resume`` of a table run needs in its folder (one of them)
_RESUME_NEEDS = ("logs/checkpoint/state.json", "logs/run.json")


def _summary_row(fold: int, run: TableRun | dict) -> dict:
    metrics = run.metrics if isinstance(run, TableRun) else run
    split = metrics.get("split", {})
    row = {"fold": fold, "n_train": split.get("n_train_rows"), "n_valid": split.get("n_valid_rows"),
           "n_test": split.get("n_test_rows"), "best_epoch": metrics["best_epoch"],
           "epochs_trained": metrics["epochs_trained"]}
    for set_name in ("test", "valid"):
        for task_name, scores in metrics["sets"].get(set_name, {}).get("tasks", {}).items():
            row[f"{set_name}_{task_name}_pearson_r"] = scores["pearson_r"]
            row[f"{set_name}_{task_name}_spearman_r"] = scores["spearman_r"]
    return row


def _train_all_folds(task, data, output, *, folds, parameters, split_options, backbone, head, recipe, model_options,
                     seed, verbose, inputs, jit_compile) -> CrossValidationRuns:
    table = _load(task, data, split_options["reverse_channel"])
    if "fold" not in table.table.columns:
        raise InputError(f"{data}: no 'fold' column, needed for --fold all. Fix: give the lentiMPRA table with folds.")
    labels = sorted(set(table.table["fold"].astype(int).tolist()))
    chosen = labels if folds is None else [int(f) for f in folds]
    unknown = [f for f in chosen if f not in labels]
    if unknown:
        raise InputError(f"folds {unknown} are not fold labels of {data} ({labels}). Fix: choose among them.")
    root = output.path
    root_prepared = False

    def prepare_fold(folder: pathlib.Path, fold_resume: bool) -> RunFolder:
        nonlocal root_prepared
        if not root_prepared:  # the top folder is made with the first fold that starts (after its memory check)
            root_run = RunFolder.create(root, resume=output.resumed, subfolders=("logs",))
            root_run.write_run_json("train", {**parameters, "folds": chosen}, inputs)
            root_prepared = True
        with open_output(folder, overwrite=not fold_resume, resume=fold_resume) as fold_output:
            return RunFolder.create(fold_output.path, resume=fold_output.resumed)

    runs, rows = {}, []
    for fold in chosen:
        folder = root / f"fold_{fold}"
        metrics_path = folder / "evaluation" / "metrics.json"
        if output.resumed and metrics_path.is_file():
            finished = json.loads(metrics_path.read_text())
            rows.append(_summary_row(fold, finished))
            continue
        fold_resume = output.resumed and (folder / "logs" / "run.json").is_file()
        table_data = prepare_table_data(task, data, fold=fold, table=table, fold_labels=labels, **split_options)
        result = _run_one(task, table_data, functools.partial(prepare_fold, folder, fold_resume),
                          backbone=backbone, head=head, recipe=recipe,
                          model_options=model_options, seed=seed, resume=fold_resume, verbose=verbose,
                          parameters={**parameters, "fold": fold}, inputs=inputs, jit_compile=jit_compile)
        runs[fold] = result
        rows.append(_summary_row(fold, result))
    summary = pd.DataFrame(rows)
    write_tsv_atomic(summary, root / "summary.tsv")
    return CrossValidationRuns(root, runs, summary)


def format_table_result(result: TableRun | CrossValidationRuns) -> str:
    """The report of a finished run: the primary set's scores and the files written (or the fold table)."""
    if isinstance(result, CrossValidationRuns):
        return (f"{result.summary.to_string(index=False)}\n"
                f"wrote {result.root / 'summary.tsv'} and {len(result.summary)} fold folders under {result.root}")
    primary = result.metrics["sets"][result.metrics["primary_set"]]
    scores = ", ".join(f"{name} Pearson r {s['pearson_r']:.4f} Spearman {s['spearman_r']:.4f}"
                       for name, s in primary["tasks"].items())
    return (f"best epoch {result.fit.best_epoch + 1} of {len(result.fit.history)}; "
            f"{result.metrics['primary_set']} set (n={primary['n']}): {scores}\n"
            f"wrote {result.folder.models / 'model.keras'} and {result.folder.evaluation / 'metrics.json'}")


__all__ = ["CrossValidationRuns", "TableData", "TableRun", "TableTrainParameters", "build_table_model",
           "evaluate_table_model", "format_table_result", "predict_table_task", "prepare_table_data", "resolve_head",
           "train_table_task", "train_tables"]
