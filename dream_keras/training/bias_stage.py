"""Training the bias model of one fold (``dream-keras bias train``), as the official bias pipeline.

The bias model learns the enzyme's sequence preference from background regions with little signal:
the train+valid nonpeaks whose totals lie below ``quantile(peak totals, 0.01) x
bias_threshold_factor``, outlier-filtered (``bias_models.select_bias_nonpeaks``). It trains on every
kept train nonpeak each epoch (centred, no jitter, half reverse-complemented) and validates on the
kept valid nonpeaks, with early stopping on the validation loss. The run folder gets
``models/bias.keras``, ``logs/`` (run.json, per-epoch CSV) and ``evaluation/`` (metrics.json on the
test peaks and nonpeaks, figures, and the count QC: the bias model's Pearson r in test peaks).
"""

from __future__ import annotations

import dataclasses
import time

from data_prep.errors import InputError
from dream_keras.training.atac_inputs import FoldSpec, check_atac_inputs, window_totals
from dream_keras.training.profile_count_fit import (TRAINING_LOG, compile_profile_count, fit_profile_count,
                                                     read_training_log, save_model, seed_everything)
from dream_keras.training.performance import precision, resolve_jit_compile
from dream_keras.training.run_folder import RunFolder, write_json_atomic

#: The official bias model and its training (``chrombpnet bias pipeline`` defaults).
BIAS_DEFAULTS = {"backbone": "bpnet", "input_length": 2114, "output_length": 1000, "bias_threshold_factor": 0.5,
                 "outlier_quantile": 0.9999, "counts_loss_weight": None, "epochs": 50, "patience": 5, "lr": 1e-3,
                 "batch_size": 64, "seed": 0}


@dataclasses.dataclass
class BiasTrainParameters:
    """Every parameter of a bias-model run (field names are ``dream-keras bias train``'s options).

    ``model_options`` go to the model builder (for ``bpnet``: ``filters`` 128 and ``n_dil_layers`` 4
    by default, layer names without prefix as in the official ``bias.h5``).
    """

    genome: str
    bigwig: str
    peaks: str
    nonpeaks: str
    fold: str
    fold_dir: str | None = None
    backbone: str = "bpnet"
    model_options: dict = dataclasses.field(default_factory=dict)
    input_length: int = 2114
    output_length: int = 1000
    bias_threshold_factor: float = 0.5
    outlier_quantile: float = 0.9999
    counts_loss_weight: float | None = None
    epochs: int = 50
    patience: int = 5
    lr: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    #: default, mirrored or multiworker (dream_keras.training.distribution); batch_size is per replica
    strategy: str = "default"
    #: Keras dtype policy and XLA choice (dream_keras.training.performance)
    precision: str = "float32"
    jit_compile: str = "auto"

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class BiasResult:
    """What a trained bias model reports."""

    run: RunFolder
    model_path: object
    metrics: dict
    best_epoch: int
    epochs_trained: int
    best_val_loss: float
    counts_loss_weight: float
    data: dict
    count_qc: dict
    seconds: float


def build_bias(params: BiasTrainParameters):
    """The bias model: the official BPNet (``bias_models.build_bias_model``) or another backbone."""
    from bias_models import build_bias_model
    from dream_keras.model import build_model

    options = {key: value for key, value in params.model_options.items()
               if key not in ("input_length", "output_length")}
    try:
        if params.backbone == "bpnet":
            return build_bias_model(params.input_length, params.output_length, **options)
        return build_model(params.backbone, "profile_count", input_length=params.input_length,
                           output_length=params.output_length, **options)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"cannot build bias backbone {params.backbone!r} with options {options}: {error}") from None


def train_bias(params: BiasTrainParameters, fold: FoldSpec, out, *, resume: bool = False, overwrite: bool = False,
               progress: bool | None = None, plots: bool = True) -> BiasResult:
    """Train, save and evaluate the bias model of one fold into the run folder ``out``.

    Under ``params.strategy`` (``dream_keras.training.distribution``) the model is built and
    compiled in the strategy's scope; on a multi-worker cluster only the chief writes ``out``.
    The dtype policy of ``params.precision`` holds from before the model is built to the end.
    """
    from dream_keras.training.distribution import make_strategy, output_folder

    plan = make_strategy(params.strategy)
    with plan.scope(), output_folder(out, plan) as own_out, precision(params.precision):
        return _train_bias_in_scope(params, fold, own_out, resume=resume, overwrite=overwrite, progress=progress,
                                    plots=plots, plan=plan)


def _train_bias_in_scope(params: BiasTrainParameters, fold: FoldSpec, out, *, resume: bool, overwrite: bool,
                         progress: bool | None, plots: bool, plan) -> BiasResult:
    """:func:`train_bias` inside ``plan.scope()``."""
    import data_prep
    from bias_models import count_qc
    from dream_keras.evaluation import evaluate_model, write_evaluation
    from dream_keras.training.atac_data import load_bias_model_data

    started = time.time()
    RunFolder.check(out, resume=resume, overwrite=overwrite)
    print(f"[bias {fold.label}] checking inputs", flush=True)
    inputs = check_atac_inputs(genome=params.genome, bigwig=params.bigwig, peaks=params.peaks,
                               nonpeaks=params.nonpeaks, fold=fold)
    seed_everything(params.seed)
    model = plan.prepare_model(build_bias(params))
    data = load_bias_model_data(inputs, input_length=params.input_length, output_length=params.output_length,
                                bias_threshold_factor=params.bias_threshold_factor,
                                outlier_quantile=params.outlier_quantile, progress=progress)
    weight = params.counts_loss_weight if params.counts_loss_weight is not None else data.counts_loss_weight
    resolved = dataclasses.replace(params, counts_loss_weight=float(weight))
    run = RunFolder.prepare(out, resume=resume, overwrite=overwrite)
    run.write_run_json("bias train", {**resolved.as_dict(), "fold": fold.argument},
                       {"genome": params.genome, "bigwig": params.bigwig, "peaks": params.peaks,
                        "nonpeaks": params.nonpeaks, "fold": fold.path},
                       extra={"model": {"config": model.get_config(), "parameters": int(model.count_params())},
                              "data": data.report, "distribution": plan.record(params.batch_size)})
    compile_profile_count(model, counts_loss_weight=weight, learning_rate=params.lr,
                          jit_compile=resolve_jit_compile(params.jit_compile, params.backbone),
                          batch_size=plan.global_batch_size(params.batch_size), backbone=params.backbone)

    # --batch-size is per replica: every step reads the global batch, which the strategy splits.
    def train_data(first_epoch):
        return plan.prepare_dataset(data_prep.training_dataset(
            None, data.train_nonpeaks, input_length=params.input_length, output_length=params.output_length,
            max_jitter=0, batch_size=plan.global_batch_size(params.batch_size), seed=params.seed,
            first_epoch=first_epoch))

    # the datasets let go of the training windows when the block ends (tf.data would keep them alive)
    with data_prep.releasing_windows():
        valid_data = plan.prepare_dataset(data_prep.validation_dataset(
            None, data.valid_nonpeaks, input_length=params.input_length, output_length=params.output_length,
            batch_size=plan.global_batch_size(params.batch_size), seed=params.seed))
        print(f"[bias {fold.label}] training {params.backbone} ({model.count_params():,} parameters) on "
              f"{len(data.train_nonpeaks.sequences)} nonpeaks below {data.report['bias_threshold']:.3g} counts "
              f"(validation: {len(data.valid_nonpeaks.sequences)}), counts loss weight {weight:.3g}", flush=True)
        fit = fit_profile_count(model, train_data, valid_data, epochs=params.epochs, patience=params.patience, run=run,
                                resume=resume)
    del train_data, valid_data
    data.train_nonpeaks = data.valid_nonpeaks = None
    model_path = save_model(model, run.models / "bias.keras")

    print(f"[bias {fold.label}] evaluating on the test chromosomes ({', '.join(fold.splits['test'])})", flush=True)
    evaluation = evaluate_model(model, data.test_peaks, data.test_nonpeaks, batch_size=params.batch_size,
                                progress=progress)
    write_evaluation(evaluation, run.evaluation, history=read_training_log(run), title=f"bias {fold.label}",
                     plots=plots)
    qc = {}
    if len(data.test_peaks.sequences) >= 2:
        check = count_qc(evaluation.pred_logcounts[evaluation.is_peak],
                         window_totals(data.test_peaks, params.output_length))
        qc = {"pearsonr_in_test_peaks": float(check.pearsonr), "verdict": check.verdict, "message": check.message}
    write_json_atomic(run.evaluation / "bias_qc.json", {"count": qc})
    return BiasResult(run, model_path, evaluation.summary(), fit.best_epoch, len(fit.history), fit.best_value,
                      float(weight), data.report, qc, time.time() - started)


def format_bias_summary(result: BiasResult) -> str:
    """The one-screen report of a trained bias model."""
    from dream_keras.evaluation import format_metrics

    kept = result.data.get("nonpeaks", {}).get("kept", {})
    lines = [
        f"bias model: done in {result.seconds / 60:.1f} min",
        f"  data      nonpeaks below the threshold {result.data.get('bias_threshold', float('nan')):.3g} counts, kept "
        f"train/valid {kept.get('train', 0)}/{kept.get('valid', 0)}; test peaks/nonpeaks evaluated; counts loss "
        f"weight {result.counts_loss_weight:.3g}",
        f"  training  {result.epochs_trained} epochs, best epoch {result.best_epoch + 1} "
        f"(val loss {result.best_val_loss:.4g})",
        "  test metrics:",
        *("    " + line for line in format_metrics(result.metrics).splitlines()),
    ]
    if result.count_qc:
        lines.append(f"  bias QC   {result.count_qc['verdict']}: {result.count_qc['message']}")
    lines += [
        f"  model     {result.model_path}",
        f"  logs      {result.run.logs / 'run.json'}, {result.run.logs / TRAINING_LOG}",
        f"  results   {result.run.evaluation / 'metrics.json'} and figures in {result.run.evaluation}",
        f"  next      dream-keras train --bias-model {result.model_path} ... (same --genome/--bigwig/--peaks/"
        "--nonpeaks/--fold)",
    ]
    return "\n".join(lines)
