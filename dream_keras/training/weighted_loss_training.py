"""Training on a weighted sum of per-output losses whose logged parts add up to the logged total.

Keras 3 (3.15 here) logs ``loss`` as the mean over the epoch's *examples* (each batch weighted by its
size), but its per-output trackers (``profile_loss``, ``logcounts_loss``) are weighted by the static
batch dimension of the prediction, which is unknown (``None``) in a traced TensorFlow step over a
``tf.data`` pipeline: every batch then counts once, the epoch's short last batch as much as a full
one. With batches that differ in content (peaks and nonpeaks) the parts and the total disagree: on the
quickstart, ``loss`` 350.1 against ``profile_loss + w * logcounts_loss`` = 495.

:class:`WeightedLossTraining` wraps a built functional network and computes the objective itself
(``compute_loss``, Keras's documented extension point), recording every per-output loss with the
same weight as the total (the batch's example count), so ``loss = sum_k w_k * <output_k>_loss``
holds for every epoch, in training and validation, up to float rounding. Each part is logged once,
under one name (the training log adds other names for the CSV:
:func:`dream_keras.training.fitting.fit_resumable`'s ``log_aliases``).

The wrapper only trains: it holds no variables of its own, so the network it wraps is the model
that is saved and evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
from keras import ops


def _replicas_in_sync() -> int:
    """How many replicas split each batch (``tf.distribute``; 1 on other backends)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


@keras.saving.register_keras_serializable(package="dream_keras")
class WeightedLossTraining(keras.Model):
    """Trains ``network`` on ``sum_k loss_weights[k] * losses[k](y[k], network(x)[k])``.

    Logged per epoch (and with ``val_`` for validation): ``loss`` (the optimised total),
    ``<output>_loss`` for each output with a loss (unweighted). All are means over the epoch's
    examples, so the total equals the weighted sum of the parts.

    Args:
        network: a built model with dict outputs; its variables are the ones trained.
        losses: ``{output name: keras.losses.Loss}``; outputs without an entry are not trained on.
        loss_weights: ``{output name: weight}``; a missing output weighs 1.
    """

    def __init__(self, network: keras.Model, losses: Mapping[str, keras.losses.Loss],
                 loss_weights: Mapping[str, float] | None = None, **kwargs):
        super().__init__(name=kwargs.pop("name", f"{network.name}_training"), **kwargs)
        outputs = set(network.output) if isinstance(network.output, dict) else set()
        unknown = sorted(set(losses) - outputs)
        if unknown:
            raise ValueError(f"losses name outputs {unknown} that {network.name!r} does not have "
                             f"(its outputs: {sorted(outputs)})")
        self.network = network
        self.output_losses = dict(losses)
        self.output_weights = {name: float((loss_weights or {}).get(name, 1.0)) for name in self.output_losses}
        self.part_trackers = {name: keras.metrics.Mean(name=f"{name}_loss") for name in self.output_losses}
        # The wrapped network is built; the wrapper adds no variables.
        self.built = True

    def call(self, inputs, training=None):
        """``network(inputs)``: a dict of output tensors."""
        return self.network(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The weighted sum of the per-output losses of this batch (plus any layer losses).

        Keras's losses divide by the number of replicas under ``tf.distribute`` (so that summing the
        replicas' gradients gives the global-batch mean); the trackers record each replica's own
        mean, weighted by its example count, as Keras's ``loss`` tracker does.
        """
        del x, training
        batch_size = ops.shape(next(iter(y_pred.values())))[0]
        replicas = _replicas_in_sync()
        total = None
        for name, loss_fn in self.output_losses.items():
            weights = sample_weight.get(name) if isinstance(sample_weight, Mapping) else sample_weight
            value = ops.cast(loss_fn(y[name], y_pred[name], weights), "float32")
            unscaled = value * float(replicas) if replicas > 1 else value
            self.part_trackers[name].update_state(unscaled, sample_weight=batch_size)
            term = value * self.output_weights[name]
            total = term if total is None else total + term
        for extra in self.losses:  # regularisation terms of the network's layers
            total = total + ops.cast(extra, "float32")
        return total

    @property
    def metrics(self):
        """Keras's own trackers (``loss``, compiled metrics), then the per-output losses."""
        return [*super().metrics, *self.part_trackers.values()]

    def get_config(self):
        """Not saved on its own: save :attr:`network` (the wrapper holds no variables)."""
        raise NotImplementedError("WeightedLossTraining only trains; save its .network")


__all__ = ["WeightedLossTraining"]
