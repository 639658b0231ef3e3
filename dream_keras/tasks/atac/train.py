"""Bias-factorised training of one ATAC fold, or of every fold, into run folders (``dream-keras train``).

One fold (:func:`train_fold`), as the official ChromBPNet pipeline:

1. check the inputs (:mod:`data_prep.atac.inputs`), the bias model's lengths and the
   model options, before anything is written;
2. read the fold's windows with the official filters (:func:`~data_prep.atac.data.load_main_model_data`);
3. rescale the bias model's log-counts on the kept train+valid nonpeaks (``models/bias_scaled.keras``);
4. train ``with_bias(model, bias_scaled)`` (bias frozen; Adam, early stopping on the validation
   loss with the best weights restored), checkpointing every epoch (``--resume``);
5. save ``models/model.keras`` (factorised), ``models/model_nobias.keras`` and evaluate on the
   test chromosomes (``evaluation/metrics.json`` and figures), with the bias QC.

The steps it shares with the bias stage are :func:`dream_keras.tasks.atac.fold_runner.run_fold`'s;
:class:`MainModelRun` holds what the main model does its own way.

Every fold (:func:`train_folds`) writes ``OUT/fold_N/`` run folders and ``OUT/summary.tsv``: for
each subset and metric, the value of every fold with their mean and standard deviation (n - 1).
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib

import numpy as np
import pandas as pd

from data_prep.atac.inputs import ALL_FOLDS, ChromosomeFold, check_atac_inputs, resolve_folds
from data_prep.errors import InputError
from data_prep.outputs import RunFolder, open_output, write_json_atomic, write_text_atomic
from dream_keras.tasks.atac.fold_runner import (
    ProfileCountRun,
    build_profile_count_model,
    files_lines,
    fit_lines,
    fold_run_in_output,
    say,
)
from dream_keras.tasks.atac.parameters import ATAC_HEAD, AtacTrainParameters
from dream_keras.tasks.atac.profile_count_fit import (
    load_model_file,
    model_lengths,
    quiet_retracing_warnings,
    save_model,
)


@dataclasses.dataclass
class MainModelResult:
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
    return build_profile_count_model(params, lambda **options: build_model(
        params.backbone, ATAC_HEAD, input_length=params.input_length, output_length=params.output_length,
        **options))


def _input_files(params: AtacTrainParameters, fold: ChromosomeFold) -> dict:
    return {"genome": params.genome, "bigwig": params.bigwig, "peaks": params.peaks, "nonpeaks": params.nonpeaks,
            "bias_model": params.bias_model, "fold": fold.path}


def _bias_qc(scaled_bias, nobias, data, params, progress) -> dict:
    """The official bias checks.

    Count Pearson of the scaled bias model in test peaks, and the enzyme motif footprint of the bias-free model on test
    nonpeaks.
    """
    from bias_models import bias_count_qc, footprint_qc
    from data_prep.atac.inputs import window_totals

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


class MainModelRun(ProfileCountRun):
    """The bias-factorised main model of one fold (see the module docstring)."""

    def input_files(self) -> dict:
        """The input files this stage reads, by option name."""
        return _input_files(self.params, self.fold)

    def check(self, plan) -> None:
        """Load the bias model and check it fits the run's input and output lengths."""
        params = self.params
        self.bias_model = plan.prepare_model(load_bias_model(params.bias_model, params.input_length,
                                                             params.output_length))

    def build(self, plan):
        """The main model (backbone with the profile/count head)."""
        return build_main_model(self.params)

    def load_data(self, inputs, progress):
        """The main model's windows, in memory or streamed (``--stream``)."""
        from data_prep.atac.data import load_main_model_data
        from data_prep.atac.streams import load_main_model_streams

        params = self.params
        say(f"[{self.tag}] reading windows (peaks: {params.input_length} + 2 x {params.max_jitter} bp)")
        # --stream holds no window in memory: batches are read from the FASTA and bigWig
        load = load_main_model_streams if params.stream else load_main_model_data
        return load(inputs, input_length=params.input_length, output_length=params.output_length,
                    max_jitter=params.max_jitter, negative_ratio=params.negative_ratio,
                    outlier_quantile=params.outlier_quantile, seed=params.seed, progress=progress)

    def trained_model(self, model, data, run, plan, resume: bool):
        """The bias-factorised model to train: the bias model rescaled to the data and frozen."""
        from bias_models import scale_bias_logcounts, with_bias

        params = self.params
        scaled_path = run.models / "bias_scaled.keras"
        if resume and scaled_path.is_file():
            scaled = load_model_file(scaled_path, "scaled bias model", "start again with --overwrite")
        else:
            say(f"[{self.tag}] rescaling the bias model on {len(data.scaling_nonpeaks.sequences)} train+valid "
                "nonpeaks")
            scaled = scale_bias_logcounts(self.bias_model, data.scaling_nonpeaks.sequences, data.scaling_totals,
                                          batch_size=params.batch_size)
            save_model(scaled, scaled_path)
        self.scaled = plan.prepare_model(scaled)
        return plan.prepare_model(with_bias(model, self.scaled))

    def datasets(self, data, plan, global_batch_size: int):
        """The main model's training and validation datasets (streamed with ``--stream``).

        Args:
            data: the fold's windows.
            plan: the distribution plan that shards and prepares the datasets.
            global_batch_size: examples per batch, every replica's together.

        Returns:
            ``(train_data, valid_data)``: a callable ``first_epoch -> dataset`` and the validation dataset.
        """
        import data_prep
        from data_prep.atac.streams import streamed_datasets

        params = self.params
        if params.stream:
            train_data, valid_data = streamed_datasets(data, params, global_batch_size)
        else:
            def train_data(first_epoch):
                return data_prep.training_dataset(data.train_peaks, data.train_nonpeaks,
                                                  input_length=params.input_length,
                                                  output_length=params.output_length, max_jitter=params.max_jitter,
                                                  negative_ratio=params.negative_ratio,
                                                  batch_size=global_batch_size, seed=params.seed,
                                                  first_epoch=first_epoch)

            valid_data = data_prep.validation_dataset(data.valid_peaks, data.valid_nonpeaks,
                                                      input_length=params.input_length,
                                                      output_length=params.output_length, max_jitter=params.max_jitter,
                                                      negative_ratio=params.negative_ratio,
                                                      batch_size=global_batch_size, seed=params.seed)
        return _sharded(train_data, plan), plan.prepare_dataset(valid_data)

    def training_message(self, model, data, weight: float) -> str:
        """The console line that starts the training."""
        params = self.params
        return (f"[{self.tag}] training {params.backbone} (bias-factorised, {model.count_params():,} trainable-part "
                f"parameters) on {len(data.train_peaks.sequences)} peaks + "
                f"{int(params.negative_ratio * len(data.train_peaks.sequences))} nonpeaks per epoch, counts loss "
                f"weight {weight:.3g}")

    def save(self, trained, run, plan) -> None:
        """Save ``model.keras``, ``model_nobias.keras`` and ``bias_scaled.keras``."""
        from bias_models import without_bias

        save_model(trained, run.models / "model.keras")
        self.nobias = plan.prepare_model(without_bias(trained))
        save_model(self.nobias, run.models / "model_nobias.keras")

    def qc(self, trained, data, evaluation, progress) -> dict:
        """The bias checks: the rescaled bias model's counts and the bias-free model's footprints."""
        return _bias_qc(self.scaled, self.nobias, data, self.params, progress)


def train_fold(params: AtacTrainParameters, fold: ChromosomeFold, out, *, resume: bool = False,
               overwrite: bool = False, progress: bool | None = None, plots: bool = True, plan=None) -> MainModelResult:
    """Train, save and evaluate one fold into the run folder ``out`` (see the module docstring).

    ``plan``: the :class:`~dream_keras.training.distribution.DistributionPlan` of a caller that
    runs several folds in one output (:func:`train_folds`; ``out`` is then a folder inside it);
    ``None`` makes the plan of ``params.strategy`` here, and on a multi-worker cluster only the
    chief writes ``out``.
    """
    from dream_keras.training.distribution import make_strategy

    plan = plan or make_strategy(params.strategy)
    with fold_run_in_output(MainModelRun(params, fold), out, resume=resume, overwrite=overwrite, progress=progress,
                            plots=plots, plan=plan) as (output, done):
        fit = done.fit
        result = MainModelResult(done.run, fold.label, done.evaluation.summary(), fit.best_epoch,
                                 len(fit.history), fit.best_value, fit.stopped_early, done.weight, done.data.report,
                                 done.qc, done.seconds)
        write_json_atomic(done.run.logs / "result.json", _result_record(result))
    # reported where the files are once the command has finished (an --overwrite swapped them in)
    return dataclasses.replace(result, run=RunFolder(output.final_path(done.run.root)))


def _sharded(train_data, plan):
    """``train_data`` (a dataset or ``first_epoch -> dataset``) through ``plan.prepare_dataset``."""
    if hasattr(train_data, "element_spec"):
        return plan.prepare_dataset(train_data)
    return lambda first_epoch: plan.prepare_dataset(train_data(first_epoch))


def _result_record(result: MainModelResult) -> dict:
    # best_epoch is written counted from 1, as the summaries print it
    return {"fold": result.fold, "best_epoch": result.best_epoch + 1, "epochs_trained": result.epochs_trained,
            "best_val_loss": result.best_val_loss, "stopped_early": result.stopped_early,
            "counts_loss_weight": result.counts_loss_weight, "metrics": result.metrics, "bias_qc": result.bias_qc,
            "seconds": round(result.seconds, 1)}


def summary_table(results: list[MainModelResult]) -> pd.DataFrame:
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
    out = pathlib.Path(out)
    tsv = write_text_atomic(out / "summary.tsv", table.to_csv(sep="\t", index=False, float_format="%.6g"))
    json_path = write_json_atomic(out / "summary.json", json.loads(table.to_json(orient="records")))
    return tsv, json_path


def train_folds(params: AtacTrainParameters, out, *, resume: bool = False, overwrite: bool = False,
                progress: bool | None = None, plots: bool = True) -> tuple[list[MainModelResult], pd.DataFrame]:
    """Train every fold of ``params.fold_dir`` into ``OUT/fold_N`` and write the summary table.

    Inputs are checked against every fold before the first trains. With ``resume`` a finished fold
    (``logs/result.json`` present) is read back, an interrupted one resumed, a missing one started.
    On a multi-worker cluster only the chief writes ``out``.
    """
    from dream_keras.training.distribution import make_strategy

    plan = make_strategy(params.strategy)
    folds = resolve_folds(ALL_FOLDS, params.fold_dir)
    with open_output(out, overwrite=overwrite, resume=resume, chief=plan.is_chief,
                     resume_needs=("logs/run.json",)) as output:
        for fold in folds:
            check_atac_inputs(genome=params.genome, bigwig=params.bigwig, peaks=params.peaks,
                              nonpeaks=params.nonpeaks, fold=fold)
        load_bias_model(params.bias_model, params.input_length, params.output_length)
        build_main_model(params)
        root = RunFolder.create(output.path, resume=output.resumed, subfolders=("logs",))
        root.write_run_json("train", {**params.as_dict(), "fold": ALL_FOLDS},
                            {**{k: v for k, v in _input_files(params, folds[0]).items() if k != "fold"},
                             **{f"fold_{f.number}": f.path for f in folds}})
        results = []
        for index, fold in enumerate(folds):
            folder = output.path / f"fold_{fold.number}"
            say(f"=== fold {fold.number} ({index + 1} of {len(folds)}) -> {output.final_path(folder)}")
            finished = folder / "logs" / "result.json"
            if output.resumed and finished.is_file():
                results.append(_read_result(folder, fold))
                continue
            fold_resume = output.resumed and (folder / "logs" / "run.json").is_file()
            fold_params = dataclasses.replace(params, fold=str(fold.number))
            # every fold builds new models, whose predict steps TensorFlow reports as retracing: expected
            with quiet_retracing_warnings():
                results.append(train_fold(fold_params, fold, folder, resume=fold_resume, overwrite=not fold_resume,
                                          progress=progress, plots=plots, plan=plan))
        table = summary_table(results)
        write_summary(table, output.path)
    results = [dataclasses.replace(r, run=RunFolder(output.final_path(r.run.root))) for r in results]
    return results, table


def _read_result(folder: pathlib.Path, fold: ChromosomeFold) -> MainModelResult:
    record = json.loads((folder / "logs" / "result.json").read_text())
    run = RunFolder(folder)
    data = run.read_run_json().get("data", {})
    return MainModelResult(run, record["fold"], record["metrics"], record["best_epoch"] - 1,
                           record["epochs_trained"], record["best_val_loss"], record["stopped_early"],
                           record["counts_loss_weight"], data, record.get("bias_qc", {}), record.get("seconds", 0.0))


def format_fold_summary(result: MainModelResult) -> str:
    """The one-screen report of a trained fold: data, training, test metrics, bias QC, files."""
    kept = result.data.get("peaks", {}).get("kept", {})
    nonpeaks = result.data.get("nonpeaks", {}).get("kept", {})
    dropped = result.data.get("peaks", {}).get("dropped_near_chromosome_ends", {})
    lines = [
        f"{result.fold}: done in {result.seconds / 60:.1f} min",
        f"  data      peaks train/valid/test {kept.get('train', 0)}/{kept.get('valid', 0)}/{kept.get('test', 0)}"
        f" (dropped near chromosome ends: {sum(dropped.values()) if dropped else 0}); nonpeaks "
        f"{nonpeaks.get('train', 0)}/{nonpeaks.get('valid', 0)}/{nonpeaks.get('test', 0)}; counts loss weight "
        f"{result.counts_loss_weight:.3g}",
        *fit_lines(result),
    ]
    for name, check in result.bias_qc.items():
        lines.append(f"  bias QC   {name}: {check['verdict']}: {check['message']}")
    run = result.run
    lines += [
        f"  models    {run.models / 'model.keras'} (bias-factorised), model_nobias.keras, bias_scaled.keras",
        *files_lines(run),
        f"  repeat    dream-keras train --config {run.logs / 'run.json'} --out NEW_FOLDER",
    ]
    return "\n".join(lines)


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
    (the others write a scratch folder, deleted at the end).
    """
    if str(params.fold).strip() == ALL_FOLDS:
        results, table = train_folds(params, out, resume=resume, overwrite=overwrite, progress=progress,
                                     plots=plots)
        return "\n\n".join([*(format_fold_summary(r) for r in results), format_folds_summary(table, out)])
    (fold,) = resolve_folds(params.fold, params.fold_dir)
    return format_fold_summary(train_fold(params, fold, out, resume=resume, overwrite=overwrite, progress=progress,
                                          plots=plots))
