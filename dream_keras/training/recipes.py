"""The three training recipes of the paper's benchmark, and the DREAM one-cycle optimizer they need.

=========  ===========================================  =====  ======  ========  ========================
recipe     optimizer                                    batch  epochs  patience  best epoch by
=========  ===========================================  =====  ======  ========  ========================
dream      AdamW (weight decay 0.01), one-cycle lr,     1024   80      none      validation Pearson r
           max 0.005                                                             (max; mean over tasks)
deepstarr  Adam 0.002                                   128    100     10        validation loss (min)
mprann     Adam 0.001                                   32     100     10        validation loss (min)
=========  ===========================================  =====  ======  ========  ========================

Every recipe trains a ``soft_bins`` head with :class:`~dream_keras.losses.SoftBinKL` on its ``bins``
output (the ``expression`` output gets no loss) and every other head with mean squared error on each
task's output; the best epoch's weights are kept. Test-time reverse-complement averaging is applied
at evaluation and prediction (:mod:`dream_keras.tasks.tables.prediction`).

The DREAM trainer is the Prix Fixe ``AutosomeTrainer`` (de-Boer-Lab/random-promoter-dream-challenge-2022,
``prixfixe/autosome/trainer.py``): ``torch.optim.AdamW(model.parameters(), weight_decay=0.01)`` (so
decay applies to every trainable weight, biases and BatchNorm scales included) with
``OneCycleLR(max_lr, div_factor=25, pct_start=0.3, three_phase=False)`` stepped after every batch.
PyTorch's OneCycleLR also cycles Adam's beta_1 by default (0.95 -> 0.85 at the peak -> 0.95);
:class:`OneCycleAdamW` does the same, with PyTorch's placement of epsilon.
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
from keras import ops

from dream_keras.losses import SoftBinKL
from dream_keras.metrics import pearson_r, spearman_r


def one_cycle_value(step, total_steps: int, pct_start: float, start: float, peak: float, end: float):
    """PyTorch OneCycleLR's two-phase cosine curve (``anneal_strategy='cos'``, ``three_phase=False``).

    Phase 1 runs from ``start`` at step 0 to ``peak`` at step ``pct_start * total_steps - 1``; phase 2
    from ``peak`` to ``end`` at step ``total_steps - 1``; within a phase ``value = b + (a - b) / 2 *
    (1 + cos(pi * t))`` for a phase from ``a`` to ``b`` and ``t`` its completed share. Steps past the
    end keep the end value.

    Args:
        step: the 0-based optimizer step (scalar tensor or number).
        total_steps: steps of the whole schedule.
        pct_start: the share of the steps in phase 1.
        start: the value at step 0.
        peak: the value at the end of phase 1.
        end: the value at the last step.

    Returns:
        float32 scalar tensor.
    """
    step = ops.clip(ops.cast(step, "float32"), 0.0, float(total_steps - 1))
    warmup_end = float(pct_start * total_steps) - 1.0
    final_step = float(total_steps - 1)
    in_warmup = ops.less_equal(step, warmup_end)
    # max(..., tiny) keeps the division finite for degenerate phases of zero length.
    warmup_share = step / max(warmup_end, 1e-12)
    decay_share = (step - warmup_end) / max(final_step - warmup_end, 1e-12)
    share = ops.where(in_warmup, warmup_share, decay_share)
    first = ops.where(in_warmup, start, peak)
    last = ops.where(in_warmup, peak, end)
    return last + (first - last) / 2.0 * (ops.cos(math.pi * share) + 1.0)


@keras.saving.register_keras_serializable(package="dream_keras")
class OneCycleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle learning rate, as ``torch.optim.lr_scheduler.OneCycleLR`` stepped once per batch.

    Starts at ``max_lr / div_factor``, rises along a half cosine to ``max_lr`` over the first
    ``pct_start`` of ``total_steps``, then falls along a half cosine to
    ``max_lr / div_factor / final_div_factor`` at the last step.

    Args:
        max_lr: the peak learning rate (0.005 for the DREAM recipe).
        total_steps: optimizer steps of the whole run (epochs x batches per epoch).
        pct_start: share of the steps spent rising.
        div_factor: start = max_lr / div_factor.
        final_div_factor: end = start / final_div_factor.
    """

    def __init__(self, max_lr: float, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4):
        if total_steps < 2:
            raise ValueError(f"OneCycleSchedule needs total_steps >= 2 (got {total_steps}); train for more "
                             "batches or epochs")
        if not 0.0 < pct_start < 1.0:
            raise ValueError(f"OneCycleSchedule: pct_start={pct_start} must lie strictly between 0 and 1")
        self.max_lr = float(max_lr)
        self.total_steps = int(total_steps)
        self.pct_start = float(pct_start)
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)

    @property
    def initial_lr(self) -> float:
        """The learning rate at step 0: ``max_lr / div_factor``."""
        return self.max_lr / self.div_factor

    @property
    def final_lr(self) -> float:
        """The learning rate at the last step: ``initial_lr / final_div_factor``."""
        return self.initial_lr / self.final_div_factor

    def __call__(self, step):
        """The learning rate at ``step``."""
        return one_cycle_value(step, self.total_steps, self.pct_start, self.initial_lr, self.max_lr, self.final_lr)

    def get_config(self):
        """The schedule's arguments."""
        return {"max_lr": self.max_lr, "total_steps": self.total_steps, "pct_start": self.pct_start,
                "div_factor": self.div_factor, "final_div_factor": self.final_div_factor}


@keras.saving.register_keras_serializable(package="dream_keras")
class OneCycleAdamW(keras.optimizers.AdamW):
    """AdamW whose beta_1 follows the one-cycle momentum curve, as PyTorch's AdamW under OneCycleLR.

    beta_1 falls from ``max_momentum`` to ``base_momentum`` while the learning rate rises and climbs
    back while it falls (the same steps as ``learning_rate``). The update is PyTorch's: decoupled
    weight decay ``w -= lr * weight_decay * w`` on every trainable weight, then
    ``w -= lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)`` with the current beta_1
    in both the moment update and the bias correction.

    Args:
        learning_rate: a :class:`OneCycleSchedule` (its steps and warm-up share drive beta_1 too).
        weight_decay: decoupled weight decay (0.01 for DREAM).
        base_momentum: beta_1 at the peak of the learning rate.
        max_momentum: beta_1 at both ends of the cycle.
        beta_2: as PyTorch's AdamW default.
        epsilon: as PyTorch's AdamW default.
        **kwargs: other :class:`keras.optimizers.Optimizer` arguments (``name``, clipping ...).
    """

    def __init__(self, learning_rate: OneCycleSchedule, weight_decay: float = 0.01, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, beta_2: float = 0.999, epsilon: float = 1e-8, **kwargs):
        kwargs.pop("beta_1", None)  # derived from the momentum curve (present in configs)
        kwargs.pop("amsgrad", None)
        if isinstance(learning_rate, dict):
            learning_rate = keras.saving.deserialize_keras_object(learning_rate)
        if not isinstance(learning_rate, OneCycleSchedule):
            raise TypeError(f"OneCycleAdamW needs a OneCycleSchedule learning rate, not {type(learning_rate).__name__}")
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, beta_1=max_momentum,
                         beta_2=beta_2, epsilon=epsilon, amsgrad=False, **kwargs)
        self.base_momentum = float(base_momentum)
        self.max_momentum = float(max_momentum)

    def current_beta_1(self, step):
        """beta_1 at the 0-based optimizer ``step``."""
        schedule = self._learning_rate
        return one_cycle_value(step, schedule.total_steps, schedule.pct_start, self.max_momentum,
                               self.base_momentum, self.max_momentum)

    def _get_current_learning_rate(self):
        # Under gradient accumulation Keras evaluates a schedule at micro-steps; the one-cycle curve
        # counts optimizer updates (``iterations`` is micro-steps // accumulation steps).
        return self._learning_rate(self.iterations)

    def update_step(self, gradient, variable, learning_rate):
        """One AdamW update of ``variable``, with the one-cycle momentum of the step."""
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.current_beta_1(self.iterations), dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - beta_2))
        first_correction = 1 - ops.power(beta_1, step)
        second_correction_root = ops.sqrt(1 - ops.power(beta_2, step))
        denominator = ops.add(ops.divide(ops.sqrt(v), second_correction_root), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / first_correction), denominator))

    def get_config(self):
        """The optimizer's config with the momentum bounds."""
        config = super().get_config()
        config.update({"base_momentum": self.base_momentum, "max_momentum": self.max_momentum})
        return config


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One training recipe: the optimizer, batch size, epochs and how the best epoch is chosen.

    Three batch sizes, each with its own name: :attr:`per_replica_batch_size` (what ``--batch-size``
    sets; the recipe's published batch), :attr:`global_batch_size` (the examples of one optimizer
    update, every replica's: per replica x :attr:`replicas`) and :attr:`step_batch_size` (the examples
    one training step holds: global / :attr:`accumulate`).

    Attributes:
        name: ``dream``, ``deepstarr`` or ``mprann``.
        optimizer: ``one_cycle_adamw`` or ``adam``.
        learning_rate: Adam's rate, or the one-cycle peak.
        per_replica_batch_size, epochs: defaults of the recipe.
        patience: epochs without improvement before stopping; None = never stop early.
        monitor, mode: the quantity that picks the best epoch (``val_pearson_r``/``max`` or
            ``val_loss``/``min``).
        weight_decay: AdamW's decoupled decay (one-cycle recipe only).
        accumulate: gradient accumulation (``--accumulate N``): each training step holds
            ``global_batch_size / N`` examples and the optimizer updates every ``N`` steps with their
            mean gradient (Keras's ``gradient_accumulation_steps``), so the effective batch stays
            ``global_batch_size``. With mean-reduced losses and no BatchNorm or dropout, N steps of
            ``global_batch_size / N`` equal one step of ``global_batch_size`` up to float rounding
            (schedules count updates, not steps; tests/test_accumulation.py). BatchNorm normalises each smaller batch
            with its own statistics and updates its moving statistics every step, and dropout draws
            its masks per step, so the zoo's models (all have one or the other) train as with the full
            batch in expectation, not bit for bit.
        replicas: the devices a distribution strategy trains on (1 without one).
    """

    name: str
    optimizer: str
    learning_rate: float
    per_replica_batch_size: int
    epochs: int
    patience: int | None
    monitor: str
    mode: str
    weight_decay: float = 0.0
    accumulate: int = 1
    replicas: int = 1

    def __post_init__(self):
        if int(self.accumulate) < 1 or self.per_replica_batch_size % int(self.accumulate):
            raise ValueError(f"recipe {self.name!r}: --accumulate {self.accumulate} must be a whole divisor of the "
                             f"batch size {self.per_replica_batch_size} (each step holds batch size / accumulate "
                             "examples)")

    @property
    def global_batch_size(self) -> int:
        """Examples per optimizer update, every replica's: ``per_replica_batch_size x replicas``."""
        return self.per_replica_batch_size * int(self.replicas)

    @property
    def step_batch_size(self) -> int:
        """Examples per training step, every replica's: ``global_batch_size / accumulate``."""
        return self.global_batch_size // int(self.accumulate)

    def resolved(self, *, learning_rate=None, per_replica_batch_size=None, epochs=None, patience=None,
                 accumulate=None) -> "Recipe":
        """This recipe with any given value replacing its default (None keeps the default)."""
        changes = {key: value for key, value in dict(learning_rate=learning_rate,
                                                      per_replica_batch_size=per_replica_batch_size,
                                                      epochs=epochs, patience=patience,
                                                      accumulate=accumulate).items() if value is not None}
        return dataclasses.replace(self, **changes)

    def for_replicas(self, replicas: int) -> "Recipe":
        """This recipe trained on ``replicas`` devices.

        The same per-replica batch, ``replicas`` times the global batch (the learning rate is not scaled).
        """
        return dataclasses.replace(self, replicas=int(replicas))

    def effective_patience(self) -> int:
        """Patience in epochs for :func:`~dream_keras.training.fitting.fit_resumable` (no early stop: epochs)."""
        return self.epochs if self.patience is None else self.patience

    def make_optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        """A fresh optimizer for ``epochs`` epochs of ``steps_per_epoch`` updates.

        Each update is of ``global_batch_size`` examples, accumulating ``accumulate`` steps' gradients when
        ``accumulate`` is above 1.
        """
        accumulation = {"gradient_accumulation_steps": int(self.accumulate)} if self.accumulate > 1 else {}
        if self.optimizer == "one_cycle_adamw":
            schedule = OneCycleSchedule(self.learning_rate, total_steps=max(2, self.epochs * steps_per_epoch))
            return OneCycleAdamW(schedule, weight_decay=self.weight_decay, **accumulation)
        if self.optimizer == "adam":
            return keras.optimizers.Adam(self.learning_rate, **accumulation)
        raise ValueError(f"recipe {self.name!r}: unknown optimizer {self.optimizer!r}")

    def to_dict(self) -> dict:
        """The recipe's fields and its derived batch sizes (``run.json``'s ``recipe_settings``)."""
        return {**dataclasses.asdict(self), "global_batch_size": self.global_batch_size,
                "step_batch_size": self.step_batch_size}


RECIPES: dict[str, Recipe] = {
    "dream": Recipe("dream", "one_cycle_adamw", learning_rate=0.005, per_replica_batch_size=1024, epochs=80,
                    patience=None, monitor="val_pearson_r", mode="max", weight_decay=0.01),
    "deepstarr": Recipe("deepstarr", "adam", learning_rate=0.002, per_replica_batch_size=128, epochs=100,
                        patience=10, monitor="val_loss", mode="min"),
    "mprann": Recipe("mprann", "adam", learning_rate=0.001, per_replica_batch_size=32, epochs=100, patience=10,
                     monitor="val_loss", mode="min"),
}


def recipe_for(backbone: str, recipe: str | None = None) -> Recipe:
    """The recipe named ``recipe``, or the model's own.

    The ``recipe`` of the backbone's registry entry (``deepstarr``/``mprann`` for those baselines, ``dream`` for the
    DREAM backbones and plug-ins).
    """
    from dream_keras.registry import get_backbone

    if recipe is None:
        recipe = get_backbone(backbone).recipe
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}")
    return RECIPES[recipe]


def table_losses(output_names, task_names, soft_bins: bool) -> dict:
    """Loss per output: SoftBinKL on ``bins`` for a soft-bin head, else MSE on each task's output.

    Args:
        output_names: the model's outputs.
        task_names: the regression targets.
        soft_bins: whether the head gives ``bins``.

    Returns:
        ``{output: loss}``; outputs without a loss (``expression`` of a soft-bin head) are absent.
    """
    if soft_bins:
        return {"bins": SoftBinKL()}
    missing = [task for task in task_names if task not in output_names]
    if missing:
        raise ValueError(f"the model has no output for task(s) {missing} (outputs: {list(output_names)}); "
                         "build the head with task_names set to the task's names")
    return {task: keras.losses.MeanSquaredError(name=f"{task}_mse") for task in task_names}


class ValidationMetrics(keras.callbacks.Callback):
    """Adds the validation loss and Pearson r, Spearman rho and MSE per task to the epoch logs.

    One prediction pass over the validation rows gives every value: ``val_loss`` (the compiled
    losses summed over outputs, each averaged over all rows, as Keras's own validation computes it)
    and, for several outputs, each part as ``val_<output>_loss``,
    ``val_{task}_pearson_r``, ``val_{task}_spearman_r``, ``val_{task}_mse`` per task (left out where
    the task's output is trained on that MSE: its loss already says it, and each number is logged
    once), and ``val_pearson_r``, ``val_spearman_r`` (means over tasks; NaN if any task's is NaN).
    Put it before the callbacks that read them (``fit_resumable`` runs the ``callbacks`` it is given
    first).

    Args:
        inputs: validation inputs, a ``(n, L, C)`` array or a dataset of input batches (no targets).
        targets: task name -> ``(n,)`` or ``(n, 1)`` measurements; each names a model output.
        loss_targets: output name -> ``(n, ...)`` targets of the compiled losses (e.g. ``bins``), or None
            to leave ``val_loss`` out.
        batch_size: prediction batch size for array inputs.
    """

    def __init__(self, inputs, targets: dict, loss_targets: dict | None = None, batch_size: int = 1024):
        super().__init__()
        self.inputs, self.batch_size, self.loss_targets = inputs, batch_size, loss_targets
        self.targets = {task: np.asarray(values, dtype=np.float64).reshape(-1) for task, values in targets.items()}

    def _loss_is_mse_of(self, task: str) -> bool:
        """Whether ``val_loss`` (or ``val_<task>_loss``) is already the MSE of ``task``'s output."""
        losses = self.model.loss if isinstance(self.model.loss, dict) else {}
        return self.loss_targets is not None and isinstance(losses.get(task), keras.losses.MeanSquaredError)

    def on_epoch_end(self, epoch, logs=None):
        """Add the validation Pearson r (overall and per task), and the loss parts when asked, to the logs."""
        if logs is None:
            return
        if isinstance(self.inputs, np.ndarray):
            predictions = self.model.predict(self.inputs, batch_size=self.batch_size, verbose=0)
        else:
            predictions = self.model.predict(self.inputs, verbose=0)
        n = len(next(iter(self.targets.values())))
        predictions = {name: values[:n] for name, values in predictions.items()}  # drop any batch padding
        if self.loss_targets is not None:
            # each part under the name Keras gives the training part (``<output>_loss``), so that
            # ``val_loss`` is their sum as ``loss`` is the sum of the training parts
            parts = {name: float(loss(ops.convert_to_tensor(self.loss_targets[name]),
                                      ops.convert_to_tensor(predictions[name])))
                     for name, loss in self.model.loss.items()}
            if len(parts) > 1:
                logs.update({f"val_{name}_loss": value for name, value in parts.items()})
            logs["val_loss"] = float(sum(parts.values()))
        pearsons, spearmans = [], []
        for task, measured in self.targets.items():
            predicted = np.asarray(predictions[task], dtype=np.float64).reshape(-1)
            pearsons.append(pearson_r(measured, predicted))
            spearmans.append(spearman_r(measured, predicted))
            logs[f"val_{task}_pearson_r"] = pearsons[-1]
            logs[f"val_{task}_spearman_r"] = spearmans[-1]
            if not self._loss_is_mse_of(task):
                logs[f"val_{task}_mse"] = float(np.mean((measured - predicted) ** 2))
        logs["val_pearson_r"] = float(np.mean(pearsons))
        logs["val_spearman_r"] = float(np.mean(spearmans))


__all__ = ["OneCycleAdamW", "OneCycleSchedule", "RECIPES", "Recipe", "ValidationMetrics",
           "one_cycle_value", "recipe_for", "table_losses"]
