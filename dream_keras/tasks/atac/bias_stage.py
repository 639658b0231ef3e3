"""Training the bias model of one fold (``dream-keras bias train``), as the official bias pipeline.

The bias model learns the enzyme's sequence preference from background regions with little signal:
the train+valid nonpeaks whose totals lie below ``quantile(peak totals, 0.01) x
bias_threshold_factor``, outlier-filtered (``bias_models.select_bias_nonpeaks``). It trains on every
kept train nonpeak each epoch (centred, no jitter, half reverse-complemented) and validates on the
kept valid nonpeaks, with early stopping on the validation loss. The run folder gets
``models/bias.keras``, ``logs/`` (run.json, per-epoch CSV) and ``evaluation/`` (metrics.json on the
test peaks and nonpeaks, figures, and the count QC: the bias model's Pearson r in test peaks).
The steps it shares with the main model are :func:`dream_keras.tasks.atac.fold_runner.run_fold`'s.
"""

from __future__ import annotations

import dataclasses

from data_prep.atac.inputs import ChromosomeFold, window_totals
from data_prep.outputs import RunFolder
from dream_keras.tasks.atac.fold_runner import (
    ProfileCountRun,
    build_profile_count_model,
    files_lines,
    fit_lines,
    fold_run_in_output,
)
from dream_keras.tasks.atac.parameters import BiasTrainParameters
from dream_keras.tasks.atac.profile_count_fit import save_model


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
    stopped_early: bool = False


def build_bias(params: BiasTrainParameters):
    """The bias model.

    ``params.backbone`` with the ``profile_count`` head, taking the options of the backbone's official bias model (its
    registry entry's ``bias_defaults``: for ``bpnet`` the official ``bias.h5`` architecture) under
    ``params.model_options``.
    """
    from dream_keras.model import build_model
    from dream_keras.registry import get_backbone

    def build(**options):
        defaults = get_backbone(params.backbone).bias_defaults
        return build_model(params.backbone, "profile_count", input_length=params.input_length,
                           output_length=params.output_length, **{**defaults, **options})

    return build_profile_count_model(params, build, what="bias backbone")


class BiasModelRun(ProfileCountRun):
    """The bias model of one fold (see the module docstring)."""

    command = "bias train"

    @property
    def tag(self) -> str:
        """The console prefix of this stage's lines."""
        return f"bias {self.fold.label}"

    @property
    def title(self) -> str:
        """The title of the run's report."""
        return f"bias {self.fold.label}"

    def build(self, plan):
        """The bias model, ready for the run's distribution plan."""
        return plan.prepare_model(build_bias(self.params))

    def load_data(self, inputs, progress):
        """The bias model's windows: the kept train+valid nonpeaks, and the test peaks and nonpeaks."""
        from data_prep.atac.data import load_bias_model_data

        params = self.params
        return load_bias_model_data(inputs, input_length=params.input_length, output_length=params.output_length,
                                    bias_threshold_factor=params.bias_threshold_factor,
                                    outlier_quantile=params.outlier_quantile, progress=progress)

    def datasets(self, data, plan, global_batch_size: int):
        """The bias model's training and validation datasets: the kept nonpeaks only, without jitter.

        Args:
            data: the fold's windows.
            plan: the distribution plan that prepares each dataset.
            global_batch_size: examples per batch, every replica's together.

        Returns:
            ``(train_data, valid_data)``: a callable ``first_epoch -> dataset`` and the validation dataset.
        """
        import data_prep

        params = self.params

        def train_data(first_epoch):
            return plan.prepare_dataset(data_prep.training_dataset(
                None, data.train_nonpeaks, input_length=params.input_length, output_length=params.output_length,
                max_jitter=0, batch_size=global_batch_size, seed=params.seed, first_epoch=first_epoch))

        valid_data = plan.prepare_dataset(data_prep.validation_dataset(
            None, data.valid_nonpeaks, input_length=params.input_length, output_length=params.output_length,
            batch_size=global_batch_size, seed=params.seed))
        return train_data, valid_data

    def training_message(self, model, data, weight: float) -> str:
        """The console line that starts the training."""
        return (f"[{self.tag}] training {self.params.backbone} ({model.count_params():,} parameters) on "
                f"{len(data.train_nonpeaks.sequences)} nonpeaks below {data.report['bias_threshold']:.3g} counts "
                f"(validation: {len(data.valid_nonpeaks.sequences)}), counts loss weight {weight:.3g}")

    def save(self, trained, run, plan) -> None:
        """Save the trained bias model as ``models/bias.keras``."""
        self.model_path = save_model(trained, run.models / "bias.keras")

    def qc(self, trained, data, evaluation, progress) -> dict:
        """The count check of the bias model on the test peaks."""
        from bias_models import count_qc

        qc = {}
        if len(data.test_peaks.sequences) >= 2:
            check = count_qc(evaluation.pred_logcounts[evaluation.is_peak],
                             window_totals(data.test_peaks, self.params.output_length))
            qc = {"pearsonr_in_test_peaks": float(check.pearsonr), "verdict": check.verdict,
                  "message": check.message}
        return {"count": qc}


def train_bias(params: BiasTrainParameters, fold: ChromosomeFold, out, *, resume: bool = False,
               overwrite: bool = False, progress: bool | None = None, plots: bool = True) -> BiasResult:
    """Train, save and evaluate the bias model of one fold into the run folder ``out``.

    Under ``params.strategy`` (``dream_keras.training.distribution``) the model is built and
    compiled in the strategy's scope; on a multi-worker cluster only the chief writes ``out``.
    The dtype policy of ``params.precision`` holds from before the model is built to the end.
    """
    from dream_keras.training.distribution import make_strategy

    plan = make_strategy(params.strategy)
    model_run = BiasModelRun(params, fold)
    with fold_run_in_output(model_run, out, resume=resume, overwrite=overwrite, progress=progress, plots=plots,
                            plan=plan) as (output, done):
        fit = done.fit
    # reported where the files are once the command has finished (an --overwrite swapped them in)
    run, model_path = RunFolder(output.final_path(done.run.root)), output.final_path(model_run.model_path)
    return BiasResult(run, model_path, done.evaluation.summary(), fit.best_epoch, len(fit.history),
                      fit.best_value, done.weight, done.data.report, done.qc["count"], done.seconds,
                      fit.stopped_early)


def format_bias_summary(result: BiasResult) -> str:
    """The one-screen report of a trained bias model."""
    kept = result.data.get("nonpeaks", {}).get("kept", {})
    lines = [
        f"bias model: done in {result.seconds / 60:.1f} min",
        f"  data      nonpeaks below the threshold {result.data.get('bias_threshold', float('nan')):.3g} counts, kept "
        f"train/valid {kept.get('train', 0)}/{kept.get('valid', 0)}; test peaks/nonpeaks evaluated; counts loss "
        f"weight {result.counts_loss_weight:.3g}",
        *fit_lines(result),
    ]
    if result.count_qc:
        lines.append(f"  bias QC   {result.count_qc['verdict']}: {result.count_qc['message']}")
    lines += [
        f"  model     {result.model_path}",
        *files_lines(result.run),
        f"  next      dream-keras train --bias-model {result.model_path} ... (same --genome/--bigwig/--peaks/"
        "--nonpeaks/--fold)",
    ]
    return "\n".join(lines)
