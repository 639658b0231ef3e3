"""Bias-factorised training of one ATAC fold, or of every fold, into run folders (``dream-keras train``).

One fold (:func:`train_fold`), as the official ChromBPNet pipeline:

1. check the inputs (:mod:`dream_keras.training.atac_inputs`), the bias model's lengths and the
   model options, before anything is written;
2. read the fold's windows with the official filters (:func:`~dream_keras.training.atac_data.load_main_model_data`);
3. rescale the bias model's log-counts on the kept train+valid nonpeaks (``models/bias_scaled.keras``);
4. train ``with_bias(model, bias_scaled)`` (bias frozen; Adam, early stopping on the validation
   loss with the best weights restored), checkpointing every epoch (``--resume``);
5. save ``models/model.keras`` (factorised), ``models/model_nobias.keras`` and evaluate on the
   test chromosomes (``evaluation/metrics.json`` and figures), with the bias QC.

Every fold (:func:`train_folds`) writes ``OUT/fold_N/`` run folders and ``OUT/summary.tsv``: for
each subset and metric, the value of every fold with their mean and standard deviation (n - 1).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import pathlib
import time

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from dream_keras.training.atac_inputs import ALL_FOLDS, FoldSpec, check_atac_inputs, resolve_folds
from dream_keras.training.profile_count_fit import (TRAINING_LOG, compile_profile_count, fit_profile_count,
                                                     load_model_file, model_lengths, quiet_retracing_warnings,
                                                     read_training_log, save_model, seed_everything)
from dream_keras.training.performance import precision, resolve_jit_compile
from dream_keras.training.run_folder import RunFolder, write_json_atomic

#: ChromBPNet's training defaults (the official ``chrombpnet pipeline``).
ATAC_DEFAULTS = {"backbone": "bpnet", "head": "profile_count", "input_length": 2114, "output_length": 1000,
                 "max_jitter": 500, "negative_ratio": 0.1, "outlier_quantile": 0.9999, "counts_loss_weight": None,
                 "epochs": 50, "patience": 5, "lr": 1e-3, "batch_size": 64, "seed": 0, "stream": False}
ATAC_HEAD = "profile_count"


@dataclasses.dataclass
class AtacTrainParameters:
    """Every parameter of an ATAC training run (field names are ``dream-keras train``'s options).

    ``model_options`` go to :func:`dream_keras.build_model` (e.g. ``filters``, ``n_dil_layers``,
    ``lstm_units``); ``counts_loss_weight=None`` computes it from the data; ``fold`` is a number,
    ``all`` or a fold JSON path, ``fold_dir`` the folder of ``fold_N.json`` files (default: the
    bundled hg38 folds).
    """

    genome: str
    bigwig: str
    peaks: str
    nonpeaks: str
    bias_model: str
    fold: str
    fold_dir: str | None = None
    backbone: str = "bpnet"
    head: str = ATAC_HEAD
    model_options: dict = dataclasses.field(default_factory=dict)
    input_length: int = 2114
    output_length: int = 1000
    max_jitter: int = 500
    negative_ratio: float = 0.1
    outlier_quantile: float = 0.9999
    counts_loss_weight: float | None = None
    epochs: int = 50
    patience: int = 5
    lr: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    #: read training and validation windows from the FASTA and bigWig batch by batch (bounded memory)
    stream: bool = False
    #: default, mirrored or multiworker (dream_keras.training.distribution); batch_size is per replica
    strategy: str = "default"
    #: Keras dtype policy and XLA choice (dream_keras.training.performance)
    precision: str = "float32"
    jit_compile: str = "auto"

    def as_dict(self) -> dict:
        return {"task": "atac", **dataclasses.asdict(self)}


@dataclasses.dataclass
class FoldResult:
    """What one trained fold reports (also written to ``logs/result.json``)."""

    run: RunFolder
    fold: str
    metrics: dict
    best_epoch: int
    epochs_trained: int
    best_val_loss: float
    stopped_early: bool
    counts_loss_weight: float
    data: dict
    bias_qc: dict
    seconds: float


def _say(message: str) -> None:
    print(message, flush=True)


def load_bias_model(path, input_length: int, output_length: int):
    """Load the bias model and check that it takes ``input_length`` and predicts ``output_length`` bp."""
    model = load_model_file(path, "bias model", "pass --bias-model with the models/bias.keras of "
                                                "`dream-keras bias train` (or an imported official bias model)")
    if not isinstance(getattr(model, "output", None), dict) or "profile" not in model.output:
        raise InputError(f"bias model {path} has no 'profile'/'logcounts' outputs; give a bias model with the "
                         "profile_count head (models/bias.keras of `dream-keras bias train`)")
    got_in, got_out = model_lengths(model)
    if (got_in, got_out) != (input_length, output_length):
        raise InputError(f"bias model {path} takes {got_in} bp and predicts {got_out} bp, but this run uses "
                         f"--input-length {input_length} and --output-length {output_length}; pass "
                         f"--input-length {got_in} --output-length {got_out}, or train a bias model with these "
                         "lengths (`dream-keras bias train --input-length ... --output-length ...`)")
    return model


def build_main_model(params: AtacTrainParameters):
    """The bias-free model: ``params.backbone`` with the ``profile_count`` head at the run's lengths."""
    from dream_keras.model import build_model

    if params.head != ATAC_HEAD:
        raise InputError(f"the ATAC task trains the '{ATAC_HEAD}' head (profile and counts); --head {params.head} "
                         "cannot be bias-factorised. Leave --head out")
    options = {key: value for key, value in params.model_options.items()
               if key not in ("input_length", "output_length")}
    try:
        return build_model(params.backbone, ATAC_HEAD, input_length=params.input_length,
                           output_length=params.output_length, **options)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"cannot build backbone {params.backbone!r} with options {options}: {error}") from None


def _input_files(params: AtacTrainParameters, fold: FoldSpec) -> dict:
    return {"genome": params.genome, "bigwig": params.bigwig, "peaks": params.peaks, "nonpeaks": params.nonpeaks,
            "bias_model": params.bias_model, "fold": fold.path}


def _bias_qc(scaled_bias, nobias, data, params, progress) -> dict:
    """The official bias checks: count Pearson of the scaled bias model in test peaks, and the enzyme
    motif footprint of the bias-free model on test nonpeaks."""
    from bias_models import bias_count_qc, footprint_qc
    from dream_keras.training.atac_inputs import window_totals

    qc = {}
    peaks, nonpeaks = data.test_peaks, data.test_nonpeaks
    with quiet_retracing_warnings():
        if len(peaks.sequences) >= 2:
            count = bias_count_qc(scaled_bias, peaks.sequences, window_totals(peaks, params.output_length),
                                  batch_size=params.batch_size)
            qc["count"] = {"pearsonr_in_test_peaks": float(count.pearsonr), "verdict": count.verdict,
                           "message": count.message}
        if len(nonpeaks.sequences):
            footprint = footprint_qc(nobias, nonpeaks.sequences, assay="ATAC", batch_size=params.batch_size,
                                     alphabet=getattr(nobias, "alphabet", "ACGT"), progress=bool(progress))
            qc["footprint"] = {"max_by_motif": footprint.max_by_motif, "verdict": footprint.verdict,
                               "message": footprint.message}
    return qc


def train_fold(params: AtacTrainParameters, fold: FoldSpec, out, *, resume: bool = False, overwrite: bool = False,
               progress: bool | None = None, plots: bool = True, plan=None) -> FoldResult:
    """Train, save and evaluate one fold into the run folder ``out`` (see the module docstring).

    ``plan``: the :class:`~dream_keras.training.distribution.DistributionPlan` of a caller that
    chose the output folder already (:func:`train_atac`); ``None`` makes the plan of
    ``params.strategy`` here, and on a multi-worker cluster only the chief writes ``out``.
    """
    from dream_keras.training.distribution import make_strategy, output_folder

    # the dtype policy of --precision holds for this fold only (the previous one comes back after);
    # it is set before any model is built or loaded, as layers take the policy when they are made
    if plan is None:
        plan = make_strategy(params.strategy)
        with plan.scope(), output_folder(out, plan) as own_out, precision(params.precision):
            return _train_fold_in_scope(params, fold, own_out, resume=resume, overwrite=overwrite,
                                        progress=progress, plots=plots, plan=plan)
    with plan.scope(), precision(params.precision):
        return _train_fold_in_scope(params, fold, out, resume=resume, overwrite=overwrite, progress=progress,
                                    plots=plots, plan=plan)


def _train_fold_in_scope(params: AtacTrainParameters, fold: FoldSpec, out, *, resume: bool, overwrite: bool,
                         progress: bool | None, plots: bool, plan) -> FoldResult:
    """:func:`train_fold` inside ``plan.scope()`` (models are built, loaded and compiled there)."""
    import data_prep
    from bias_models import scale_bias_logcounts, with_bias, without_bias
    from dream_keras.evaluation import evaluate_model, write_evaluation
    from dream_keras.training.atac_data import load_main_model_data
    from dream_keras.training.atac_streams import load_main_model_streams, streamed_datasets

    started = time.time()
    RunFolder.check(out, resume=resume, overwrite=overwrite)
    _say(f"[{fold.label}] checking inputs")
    inputs = check_atac_inputs(genome=params.genome, bigwig=params.bigwig, peaks=params.peaks,
                               nonpeaks=params.nonpeaks, fold=fold)
    bias_model = plan.prepare_model(load_bias_model(params.bias_model, params.input_length, params.output_length))
    seed_everything(params.seed)
    model = build_main_model(params)
    _say(f"[{fold.label}] reading windows (peaks: {params.input_length} + 2 x {params.max_jitter} bp)")
    # --stream holds no window in memory: batches are read from the FASTA and bigWig
    load = load_main_model_streams if params.stream else load_main_model_data
    data = load(inputs, input_length=params.input_length, output_length=params.output_length,
                max_jitter=params.max_jitter, negative_ratio=params.negative_ratio,
                outlier_quantile=params.outlier_quantile, seed=params.seed, progress=progress)
    weight = params.counts_loss_weight if params.counts_loss_weight is not None else data.counts_loss_weight
    resolved = dataclasses.replace(params, counts_loss_weight=float(weight))

    run = RunFolder.prepare(out, resume=resume, overwrite=overwrite)
    run.write_run_json("train", {**resolved.as_dict(), "fold": fold.argument},
                       _input_files(params, fold),
                       extra={"model": {"config": model.get_config(), "parameters": int(model.count_params())},
                              "data": data.report, "distribution": plan.record(params.batch_size)})
    # --batch-size is per replica: every step reads the global batch, which the strategy splits.
    data_params = dataclasses.replace(params, batch_size=plan.global_batch_size(params.batch_size))

    scaled_path = run.models / "bias_scaled.keras"
    if resume and scaled_path.is_file():
        scaled = load_model_file(scaled_path, "scaled bias model", "start again with --overwrite")
    else:
        _say(f"[{fold.label}] rescaling the bias model on {len(data.scaling_nonpeaks.sequences)} train+valid nonpeaks")
        scaled = scale_bias_logcounts(bias_model, data.scaling_nonpeaks.sequences,
                                      data.scaling_totals,
                                      batch_size=params.batch_size)
        save_model(scaled, scaled_path)
    scaled = plan.prepare_model(scaled)
    combined = plan.prepare_model(with_bias(model, scaled))
    compile_profile_count(combined, counts_loss_weight=weight, learning_rate=params.lr,
                          jit_compile=resolve_jit_compile(params.jit_compile, params.backbone),
                          batch_size=data_params.batch_size, backbone=params.backbone)

    def in_memory_train_data(first_epoch):
        return data_prep.training_dataset(data.train_peaks, data.train_nonpeaks, input_length=params.input_length,
                                          output_length=params.output_length, max_jitter=params.max_jitter,
                                          negative_ratio=params.negative_ratio, batch_size=data_params.batch_size,
                                          seed=params.seed, first_epoch=first_epoch)

    # the datasets let go of the training windows when the block ends (tf.data would keep them alive)
    with data_prep.releasing_windows():
        if params.stream:
            train_data, valid_data = streamed_datasets(data, data_params)
        else:
            train_data = in_memory_train_data
            valid_data = data_prep.validation_dataset(data.valid_peaks, data.valid_nonpeaks,
                                                      input_length=params.input_length,
                                                      output_length=params.output_length, max_jitter=params.max_jitter,
                                                      negative_ratio=params.negative_ratio,
                                                      batch_size=data_params.batch_size, seed=params.seed)
        train_data = _sharded(train_data, plan)
        valid_data = plan.prepare_dataset(valid_data)
        _say(f"[{fold.label}] training {params.backbone} (bias-factorised, {model.count_params():,} trainable-part "
             f"parameters) on {len(data.train_peaks.sequences)} peaks + "
             f"{int(params.negative_ratio * len(data.train_peaks.sequences))} nonpeaks per epoch, counts loss weight "
             f"{weight:.3g}")
        fit = fit_profile_count(combined, train_data, valid_data, epochs=params.epochs, patience=params.patience,
                                run=run, resume=resume)
    # The training windows are done with: free them before the test regions are predicted and scored.
    del train_data, valid_data
    data.train_peaks = data.valid_peaks = data.train_nonpeaks = data.valid_nonpeaks = None
    gc.collect()
    save_model(combined, run.models / "model.keras")
    nobias = plan.prepare_model(without_bias(combined))
    save_model(nobias, run.models / "model_nobias.keras")

    _say(f"[{fold.label}] evaluating on the test chromosomes ({', '.join(fold.splits['test'])})")
    evaluation = evaluate_model(combined, data.test_peaks, data.test_nonpeaks, batch_size=params.batch_size,
                                progress=progress)
    write_evaluation(evaluation, run.evaluation, history=read_training_log(run),
                     title=f"{params.backbone} {fold.label}", plots=plots)
    bias_qc = _bias_qc(scaled, nobias, data, params, progress)
    write_json_atomic(run.evaluation / "bias_qc.json", bias_qc)
    result = FoldResult(run, fold.label, evaluation.summary(), fit.best_epoch, len(fit.history), fit.best_value,
                        fit.stopped_early, float(weight), data.report, bias_qc, time.time() - started)
    write_json_atomic(run.logs / "result.json", _result_record(result))
    return result


def _sharded(train_data, plan):
    """``train_data`` (a dataset or ``first_epoch -> dataset``) through ``plan.prepare_dataset``."""
    if hasattr(train_data, "element_spec"):
        return plan.prepare_dataset(train_data)
    return lambda first_epoch: plan.prepare_dataset(train_data(first_epoch))


def _result_record(result: FoldResult) -> dict:
    return {"fold": result.fold, "best_epoch": result.best_epoch, "epochs_trained": result.epochs_trained,
            "best_val_loss": result.best_val_loss, "stopped_early": result.stopped_early,
            "counts_loss_weight": result.counts_loss_weight, "metrics": result.metrics, "bias_qc": result.bias_qc,
            "seconds": round(result.seconds, 1)}


def summary_table(results: list[FoldResult]) -> pd.DataFrame:
    """One row per (subset, metric): each fold's value, their mean and sample standard deviation."""
    rows = []
    for subset in ("peaks", "nonpeaks", "peaks_and_nonpeaks"):
        for metric in ("spearmanr", "pearsonr", "mse", "median_jsd", "median_norm_jsd"):
            values = {f"fold_{r.fold.removeprefix('fold ')}": r.metrics.get(subset, {}).get(metric, math.nan)
                      for r in results}
            numbers = np.array(list(values.values()), dtype=np.float64)
            finite = numbers[np.isfinite(numbers)]
            rows.append({"subset": subset, "metric": metric, **values,
                         "mean": float(finite.mean()) if finite.size else math.nan,
                         "std": float(finite.std(ddof=1)) if finite.size > 1 else math.nan})
    return pd.DataFrame(rows)


def write_summary(table: pd.DataFrame, out) -> tuple[pathlib.Path, pathlib.Path]:
    """``OUT/summary.tsv`` and ``OUT/summary.json`` (atomic)."""
    from data_prep.atomic import write_text_atomic

    out = pathlib.Path(out)
    tsv = write_text_atomic(out / "summary.tsv", table.to_csv(sep="\t", index=False, float_format="%.6g"))
    json_path = write_json_atomic(out / "summary.json", json.loads(table.to_json(orient="records")))
    return tsv, json_path


def train_folds(params: AtacTrainParameters, out, *, resume: bool = False, overwrite: bool = False,
                progress: bool | None = None, plots: bool = True,
                plan=None) -> tuple[list[FoldResult], pd.DataFrame]:
    """Train every fold of ``params.fold_dir`` into ``OUT/fold_N`` and write the summary table.

    Inputs are checked against every fold before the first trains. With ``resume`` a finished fold
    (``logs/result.json`` present) is read back, an interrupted one resumed, a missing one started.
    ``plan`` as in :func:`train_fold`.
    """
    if plan is None:
        from dream_keras.training.distribution import make_strategy, output_folder

        plan = make_strategy(params.strategy)
        with output_folder(out, plan) as own_out:
            return train_folds(params, own_out, resume=resume, overwrite=overwrite, progress=progress, plots=plots,
                               plan=plan)
    folds = resolve_folds(ALL_FOLDS, params.fold_dir)
    RunFolder.check(out, resume=resume, overwrite=overwrite)
    for fold in folds:
        check_atac_inputs(genome=params.genome, bigwig=params.bigwig, peaks=params.peaks, nonpeaks=params.nonpeaks,
                          fold=fold)
    load_bias_model(params.bias_model, params.input_length, params.output_length)
    build_main_model(params)
    root = RunFolder.prepare(out, resume=resume, overwrite=overwrite, subfolders=("logs",))
    root.write_run_json("train", {**params.as_dict(), "fold": ALL_FOLDS},
                        {**{k: v for k, v in _input_files(params, folds[0]).items() if k != "fold"},
                         **{f"fold_{f.number}": f.path for f in folds}})
    results = []
    for index, fold in enumerate(folds):
        folder = pathlib.Path(out) / f"fold_{fold.number}"
        _say(f"=== fold {fold.number} ({index + 1} of {len(folds)}) -> {folder}")
        finished = folder / "logs" / "result.json"
        if resume and finished.is_file():
            results.append(_read_result(folder, fold))
            continue
        fold_resume = resume and (folder / "logs" / "run.json").is_file()
        fold_params = dataclasses.replace(params, fold=str(fold.number))
        results.append(train_fold(fold_params, fold, folder, resume=fold_resume, overwrite=False, progress=progress,
                                  plots=plots, plan=plan))
    table = summary_table(results)
    write_summary(table, out)
    return results, table


def _read_result(folder: pathlib.Path, fold: FoldSpec) -> FoldResult:
    record = json.loads((folder / "logs" / "result.json").read_text())
    run = RunFolder(folder)
    data = run.read_run_json().get("data", {})
    return FoldResult(run, record["fold"], record["metrics"], record["best_epoch"], record["epochs_trained"],
                      record["best_val_loss"], record["stopped_early"], record["counts_loss_weight"], data,
                      record.get("bias_qc", {}), record.get("seconds", 0.0))


def format_fold_summary(result: FoldResult) -> str:
    """The one-screen report of a trained fold: data, training, test metrics, bias QC, files."""
    from dream_keras.evaluation import format_metrics

    kept = result.data.get("peaks", {}).get("kept", {})
    nonpeaks = result.data.get("nonpeaks", {}).get("kept", {})
    dropped = result.data.get("peaks", {}).get("dropped_near_chromosome_ends", {})
    lines = [
        f"{result.fold}: done in {result.seconds / 60:.1f} min",
        f"  data      peaks train/valid/test {kept.get('train', 0)}/{kept.get('valid', 0)}/{kept.get('test', 0)}"
        f" (dropped near chromosome ends: {sum(dropped.values()) if dropped else 0}); nonpeaks "
        f"{nonpeaks.get('train', 0)}/{nonpeaks.get('valid', 0)}/{nonpeaks.get('test', 0)}; counts loss weight "
        f"{result.counts_loss_weight:.3g}",
        f"  training  {result.epochs_trained} epochs, best epoch {result.best_epoch + 1} (val loss "
        f"{result.best_val_loss:.4g}){', stopped early' if result.stopped_early else ''}",
        "  test metrics:",
        *("    " + line for line in _metrics_lines(result.metrics, format_metrics)),
    ]
    for name, check in result.bias_qc.items():
        lines.append(f"  bias QC   {name}: {check['verdict']}: {check['message']}")
    run = result.run
    lines += [
        f"  models    {run.models / 'model.keras'} (bias-factorised), model_nobias.keras, bias_scaled.keras",
        f"  logs      {run.logs / 'run.json'}, {run.logs / TRAINING_LOG}",
        f"  results   {run.evaluation / 'metrics.json'} and figures in {run.evaluation}",
        f"  repeat    dream-keras train --config {run.logs / 'run.json'} --out NEW_FOLDER",
    ]
    return "\n".join(lines)


def _metrics_lines(metrics: dict, format_metrics) -> list[str]:
    return format_metrics(metrics).splitlines() if metrics else ["(no test regions)"]


def format_folds_summary(table: pd.DataFrame, out) -> str:
    """The cross-fold table (mean and standard deviation of every metric) and where it is written."""
    shown = table.copy()
    lines = ["metrics across folds (mean +/- std over folds):"]
    for subset, part in shown.groupby("subset", sort=False):
        lines.append(f"  {subset}:")
        for _, row in part.iterrows():
            lines.append(f"    {row['metric']:16s} {row['mean']:10.4f} +/- {row['std']:.4f}")
    lines.append(f"table: {pathlib.Path(out) / 'summary.tsv'} (each fold's values too)")
    return "\n".join(lines)


def train_atac(params: AtacTrainParameters, out, *, resume: bool = False, overwrite: bool = False,
               progress: bool | None = None, plots: bool = True) -> str:
    """Train the fold(s) ``params.fold`` names into ``out``; return the one-screen summary.

    With ``params.strategy`` ``multiworker`` every worker runs this; only the chief writes ``out``
    (the others write a temporary folder, deleted at the end).
    """
    from dream_keras.training.distribution import make_strategy, output_folder

    plan = make_strategy(params.strategy)
    with output_folder(out, plan) as out:
        if str(params.fold).strip() == ALL_FOLDS:
            results, table = train_folds(params, out, resume=resume, overwrite=overwrite, progress=progress,
                                         plots=plots, plan=plan)
            return "\n\n".join([*(format_fold_summary(r) for r in results), format_folds_summary(table, out)])
        (fold,) = resolve_folds(params.fold, params.fold_dir)
        return format_fold_summary(train_fold(params, fold, out, resume=resume, overwrite=overwrite,
                                              progress=progress, plots=plots, plan=plan))

