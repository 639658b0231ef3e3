"""One fold of profile/count training into a run folder: the steps the bias model and the main model share.

:func:`run_fold` checks the inputs, seeds, builds the model, reads the fold's windows, writes
``logs/run.json``, compiles with ChromBPNet's losses, fits (checkpoint every epoch, ``--resume``),
saves, evaluates on the test chromosomes (``evaluation/metrics.json`` and figures) and writes the
run's QC (``evaluation/bias_qc.json``). What differs between the bias model
(:mod:`dream_keras.tasks.atac.bias_stage`) and the bias-factorised main model
(:mod:`dream_keras.tasks.atac.train`) is a :class:`ProfileCountRun` subclass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time

from data_prep.atac.inputs import ChromosomeFold, check_atac_inputs
from data_prep.errors import InputError
from data_prep.outputs import RunFolder, open_output, write_json_atomic
from dream_keras.tasks.atac.profile_count_fit import (
    TRAINING_LOG,
    compile_profile_count,
    fit_profile_count,
    quiet_retracing_warnings,
    read_training_log,
)
from dream_keras.training.memory_check import check_step_memory
from dream_keras.training.performance import has_gpu, resolve_jit_compile
from dream_keras.training.seeding import seed_everything

#: the data attributes that hold training windows (freed once the fit ends)
_TRAINING_WINDOWS = ("train_peaks", "valid_peaks", "train_nonpeaks", "valid_nonpeaks")


class ProfileCountRun:
    """One profile/count model trained on one fold.

    This is what the bias model (:class:`~dream_keras.tasks.atac.bias_stage.BiasModelRun`) and the
    bias-factorised main model (:class:`~dream_keras.tasks.atac.train.MainModelRun`) each do their own way;
    :func:`run_fold` does the rest.

    An object serves one fold: it may keep what a step made (e.g. the scaled bias model) for a
    later step. Attributes: ``command`` (``run.json``'s command), ``tag`` (log line prefix),
    ``title`` (figure title), ``params`` and ``fold``.
    """

    command = "train"

    def __init__(self, params, fold: ChromosomeFold):
        self.params, self.fold = params, fold

    @property
    def tag(self) -> str:
        """The console prefix of this stage's lines."""
        return self.fold.label

    @property
    def title(self) -> str:
        """The title of the run's report."""
        return f"{self.params.backbone} {self.fold.label}"

    def input_files(self) -> dict:
        """The files ``run.json`` records (size and SHA-256)."""
        params = self.params
        return {"genome": params.genome, "bigwig": params.bigwig, "peaks": params.peaks,
                "nonpeaks": params.nonpeaks, "fold": self.fold.path}

    def check(self, plan) -> None:
        """Further checks before anything is built or written (after the inputs')."""

    def build(self, plan):
        """The model to record in ``run.json`` (built after seeding, inside the strategy's scope)."""
        raise NotImplementedError

    def load_data(self, inputs, progress):
        """The fold's windows.

        An object with ``test_peaks``, ``test_nonpeaks``, ``counts_loss_weight``, ``report`` and the training windows.
        """
        raise NotImplementedError

    def trained_model(self, model, data, run, plan, resume: bool):
        """The model to compile and fit (the main model wraps ``model`` with the bias model)."""
        return model

    def datasets(self, data, plan, global_batch_size: int):
        """``(train_data, valid_data)`` for :func:`fit_profile_count`, sharded by ``plan``.

        In batches of ``global_batch_size`` (every replica's examples).
        """
        raise NotImplementedError

    def training_message(self, model, data, weight: float) -> str:
        """The console line that starts the training."""
        raise NotImplementedError

    def save(self, trained, run, plan) -> None:
        """Save the trained model(s) into ``run.models``."""
        raise NotImplementedError

    def qc(self, trained, data, evaluation, progress) -> dict:
        """The content of ``evaluation/bias_qc.json``."""
        return {}


@dataclasses.dataclass
class RunOutcome:
    """What :func:`run_fold` hands back to the :class:`ProfileCountRun` it ran.

    run: the run folder; fit: :class:`~dream_keras.training.fitting.FitResult`; evaluation:
    :class:`~dream_keras.tasks.atac.evaluation.Evaluation`; weight: the counts loss weight used;
    data: the run's data (training windows freed); qc: what ``bias_qc.json`` holds; seconds: wall time.
    """

    run: RunFolder
    fit: object
    evaluation: object
    weight: float
    data: object
    qc: dict
    seconds: float


def say(message: str) -> None:
    """Print one console line at once."""
    print(message, flush=True)


def build_profile_count_model(params, build, what: str = "backbone"):
    """``build(**options)`` with ``params.model_options`` less the lengths (the run sets those).

    A refused option becomes an :class:`InputError` naming the backbone and its options.
    """
    options = {key: value for key, value in params.model_options.items()
               if key not in ("input_length", "output_length")}
    try:
        return build(**options)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"cannot build {what} {params.backbone!r} with options {options}: {error}") from None


#: what ``--resume`` of a training run needs in its folder (one of them)
RESUME_NEEDS = ("logs/checkpoint/state.json", "logs/run.json")


def run_fold(model_run: ProfileCountRun, output, *, progress: bool | None, plots: bool, plan) -> RunOutcome:
    """Train, save and evaluate ``model_run``'s model into the opened output ``output``.

    ``output`` is a :class:`data_prep.outputs.OpenedOutput` (resumed when ``output.resumed``). The work runs
    inside ``plan.scope()`` and the run's dtype policy (:func:`dream_keras.training.distribution.training_scope`).
    """
    from data_prep import releasing_windows
    from dream_keras.tasks.atac.evaluation import evaluate_model, write_evaluation

    params, fold = model_run.params, model_run.fold
    resume = output.resumed
    started = time.time()
    say(f"[{model_run.tag}] checking inputs")
    inputs = check_atac_inputs(genome=params.genome, bigwig=params.bigwig, peaks=params.peaks,
                               nonpeaks=params.nonpeaks, fold=fold)
    model_run.check(plan)
    seed_everything(params.seed)
    model = model_run.build(plan)
    # --batch-size is per replica: every step reads the global batch, which the strategy splits
    global_batch_size = plan.global_batch_size(params.batch_size)
    if not has_gpu():  # CPU runs share the machine's memory: stop before a step that cannot fit
        check_step_memory(model, global_batch_size=global_batch_size, step_batch_size=global_batch_size,
                          what=f"[{model_run.tag}] {params.backbone}", accumulate=False)
    data = model_run.load_data(inputs, progress)
    weight = params.counts_loss_weight if params.counts_loss_weight is not None else data.counts_loss_weight
    resolved = dataclasses.replace(params, counts_loss_weight=float(weight))

    run = RunFolder.create(output.path, resume=resume)  # only now: a refused run leaves no folder behind
    run.write_run_json(model_run.command, {**resolved.as_dict(), "fold": fold.argument}, model_run.input_files(),
                       extra={"model": {"config": model.get_config(), "parameters": int(model.count_params())},
                              "data": data.report, "distribution": plan.record(params.batch_size)})
    trained = model_run.trained_model(model, data, run, plan, resume)
    # the trainer wraps ``trained`` (whose variables it fits) so that the logged loss is the optimised one
    trainer = compile_profile_count(trained, counts_loss_weight=weight, learning_rate=params.lr,
                                    jit_compile=resolve_jit_compile(params.jit_compile, params.backbone),
                                    step_batch_size=global_batch_size, backbone=params.backbone)

    # the datasets let go of the training windows when the block ends (tf.data would keep them alive)
    with releasing_windows():
        train_data, valid_data = model_run.datasets(data, plan, global_batch_size)
        say(model_run.training_message(model, data, weight))
        fit = fit_profile_count(trainer, train_data, valid_data, epochs=params.epochs, patience=params.patience,
                                run=run, resume=resume)
    # The training windows are done with: free them before the test regions are predicted and scored.
    del train_data, valid_data
    for name in _TRAINING_WINDOWS:
        if hasattr(data, name):
            setattr(data, name, None)
    gc.collect()
    model_run.save(trained, run, plan)

    say(f"[{model_run.tag}] evaluating on the test chromosomes ({', '.join(fold.splits['test'])})")
    with quiet_retracing_warnings():  # several models, each on peaks and nonpeaks of their own batch sizes
        evaluation = evaluate_model(trained, data.test_peaks, data.test_nonpeaks, batch_size=params.batch_size,
                                    progress=progress)
        write_evaluation(evaluation, run.evaluation, history=read_training_log(run), title=model_run.title, plots=plots)
        qc = model_run.qc(trained, data, evaluation, progress)
    write_json_atomic(run.evaluation / "bias_qc.json", qc)
    from dream_keras.tasks.atac.reporting import write_run_report

    write_run_report(run.root)
    return RunOutcome(run, fit, evaluation, float(weight), data, qc, time.time() - started)


@contextlib.contextmanager
def fold_run_in_output(model_run: ProfileCountRun, out, *, resume: bool, overwrite: bool, progress: bool | None,
                       plots: bool, plan):
    """Open the run folder ``out`` and run ``model_run`` in it (:func:`run_fold`) under ``plan``.

    The one place the bias model and the main model open their run folder. The body of the ``with`` statement
    runs with the output still open and in the run's training scope (an ``--overwrite`` swaps the new folder in
    when it ends).

    Args:
        model_run: the model's :class:`ProfileCountRun`.
        out: the run folder.
        resume: go on with an interrupted run in ``out``.
        overwrite: replace an earlier run in ``out``.
        progress: progress bars (``None``: on a terminal).
        plots: write the evaluation figures.
        plan: the :class:`~dream_keras.training.distribution.DistributionPlan` (only its chief writes ``out``).

    Yields:
        ``(output, outcome)``: the opened :class:`data_prep.outputs.OpenedOutput` and the :class:`RunOutcome`.
    """
    from dream_keras.training.distribution import training_scope

    # --overwrite builds the run beside the old one and swaps it in once finished
    with open_output(out, overwrite=overwrite, resume=resume, chief=plan.is_chief, resume_needs=RESUME_NEEDS) \
            as output, training_scope(plan, model_run.params.precision):
        yield output, run_fold(model_run, output, progress=progress, plots=plots, plan=plan)


def fit_lines(result) -> list[str]:
    """The summary's ``training`` line and test metrics block of a trained model's result.

    Args:
        result: a result with ``epochs_trained``, ``best_epoch``, ``best_val_loss``, ``stopped_early`` and
            ``metrics`` (the bias model's or a main model fold's).

    Returns:
        The lines, indented as the summaries show them.
    """
    return [training_line(result.epochs_trained, result.best_epoch, result.best_val_loss, result.stopped_early),
            *metrics_lines(result.metrics)]


def training_line(epochs_trained: int, best_epoch: int, best_val_loss: float, stopped_early: bool) -> str:
    """The summary's ``training`` line (``best_epoch`` counted from 0, shown from 1)."""
    return (f"  training  {epochs_trained} epochs, best epoch {best_epoch + 1} (val loss {best_val_loss:.4g})"
            f"{', stopped early' if stopped_early else ''}")


def metrics_lines(metrics: dict) -> list[str]:
    """The summary's test metrics block."""
    from dream_keras.tasks.atac.evaluation import format_metrics

    shown = format_metrics(metrics).splitlines() if metrics else ["(no test regions)"]
    return ["  test metrics:", *("    " + line for line in shown)]


def files_lines(run: RunFolder) -> list[str]:
    """The summary's ``logs`` and ``results`` lines."""
    return [f"  logs      {run.logs / 'run.json'}, {run.logs / TRAINING_LOG}",
            f"  results   {run.evaluation / 'metrics.json'} and figures in {run.evaluation}"]
