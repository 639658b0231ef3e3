"""Training losses: ChromBPNet's profile and count losses and DREAM's soft-bin KL divergence.

Written with ``keras.ops`` only, so the same losses train on the TensorFlow, JAX and PyTorch backends.

- :func:`multinomial_nll` / :class:`MultinomialNLL`: the full multinomial negative log-likelihood of
  observed per-base counts under ``softmax(profile logits)`` (ChromBPNet's profile loss).
- :func:`logcount_mse`: MSE between predicted log-counts and ``log(1 + total counts)`` (its count loss).
- :func:`chrombpnet_loss`: the ``loss`` and ``loss_weights`` dictionaries for compiling a model with
  outputs ``profile`` and ``logcounts``.
- :class:`SoftBinKL`: KL divergence between target bin probabilities and predicted bins (the DREAM
  Challenge's soft-bin head).
"""

import math

import keras
from keras import ops

__all__ = [
    "log_gamma",
    "multinomial_log_likelihood",
    "multinomial_nll",
    "MultinomialNLL",
    "logcount_mse",
    "chrombpnet_total_loss",
    "chrombpnet_loss",
    "SoftBinKL",
]

_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
# Stirling's series with three correction terms is accurate to < 3e-10 for arguments >= 8;
# smaller arguments are shifted up by 8 with the recurrence Gamma(x + 1) = x Gamma(x).
_STIRLING_MIN_ARGUMENT = 8.0


def _stirling_log_gamma(z):
    inverse = 1.0 / z
    inverse_squared = inverse * inverse
    series = inverse * (1.0 / 12.0 - inverse_squared * (1.0 / 360.0 - inverse_squared / 1260.0))
    return (z - 0.5) * ops.log(z) - z + _HALF_LOG_TWO_PI + series


def log_gamma(x):
    """Natural log of the gamma function, elementwise, for positive arguments.

    ``keras.ops`` has no ``lgamma``; this evaluates Stirling's series, after shifting arguments
    below 8 upwards with the gamma recurrence, so it runs on every backend.

    Args:
        x: Tensor of any shape with values > 0 (for counts, ``counts + 1``).

    Returns:
        Tensor of ``x``'s shape and dtype: ``log(Gamma(x))``. Absolute error about 1e-6 for x near 1
        in float32, relative error about 1e-7 for large x.
    """
    x = ops.convert_to_tensor(x)
    if "float" not in keras.backend.standardize_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    is_small = x < _STIRLING_MIN_ARGUMENT
    shifted = ops.where(is_small, x + _STIRLING_MIN_ARGUMENT, x)
    # log(x (x + 1) ... (x + 7)) as a sum of logs: the product itself overflows float32 for large x.
    shift_correction = ops.zeros_like(x)
    for step in range(int(_STIRLING_MIN_ARGUMENT)):
        shift_correction = shift_correction + ops.log(x + float(step))
    return _stirling_log_gamma(shifted) - ops.where(is_small, shift_correction, ops.zeros_like(x))


def multinomial_log_likelihood(true_counts, logits):
    """Log-probability of observed counts under a multinomial with ``softmax(logits)`` probabilities.

    The log multinomial coefficient ``log(N! / prod(n_i!))`` is included, so the value is the exact
    log-probability (as ``tfp.distributions.Multinomial.log_prob`` and
    ``scipy.stats.multinomial.logpmf`` compute it), not only its logit-dependent part.

    Args:
        true_counts: Observed non-negative counts, shape ``(batch, ..., positions)``.
        logits: Unnormalised log-probabilities over positions, same shape as ``true_counts``.

    Returns:
        Tensor of shape ``(batch, ...)``: one log-likelihood per example (the last axis summed out).
    """
    logits = ops.convert_to_tensor(logits)
    true_counts = ops.cast(true_counts, logits.dtype)
    total_counts = ops.sum(true_counts, axis=-1)
    log_coefficient = log_gamma(total_counts + 1.0) - ops.sum(log_gamma(true_counts + 1.0), axis=-1)
    log_probabilities = ops.log_softmax(logits, axis=-1)
    return log_coefficient + ops.sum(true_counts * log_probabilities, axis=-1)


def multinomial_nll(true_counts, logits):
    """ChromBPNet's profile loss: multinomial negative log-likelihood averaged over the batch.

    Args:
        true_counts: Observed per-base counts, shape ``(batch, positions)``.
        logits: Predicted profile logits, shape ``(batch, positions)``.

    Returns:
        Scalar tensor: the per-example negative log-likelihoods (log-coefficient included) summed and
        divided by the batch size, as the official ``multinomial_nll`` does.
    """
    return -ops.mean(multinomial_log_likelihood(true_counts, logits))


@keras.saving.register_keras_serializable(package="dream_keras")
class MultinomialNLL(keras.losses.Loss):
    """Multinomial negative log-likelihood of per-base counts under ``softmax(logits)``.

    ChromBPNet's profile loss as a Keras loss: ``y_true`` holds the observed per-base counts and
    ``y_pred`` the profile logits. With the default reduction the per-example values are averaged
    over the batch, which equals the official ``multinomial_nll``.

    Args:
        reduction: Keras reduction of the per-example losses; ``"sum_over_batch_size"`` averages over the batch.
        name: Name of the loss.
        dtype: Dtype (or dtype policy name) of the computation; ``None`` uses ``keras.config.floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="multinomial_nll", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-example negative log-likelihood.

        Args:
            y_true: Observed counts, shape ``(batch, positions)``.
            y_pred: Profile logits, shape ``(batch, positions)``.

        Returns:
            Tensor of shape ``(batch,)``.
        """
        return -multinomial_log_likelihood(y_true, y_pred)

    def get_config(self):
        """Return the constructor arguments: reduction, name and dtype policy."""
        config = super().get_config()
        config.update({"dtype": self._dtype_policy.name})
        return config


def logcount_mse(true_counts, pred_logcounts):
    """ChromBPNet's count loss computed from per-base counts.

    Args:
        true_counts: Observed per-base counts, shape ``(batch, positions)``.
        pred_logcounts: Predicted log-counts, shape ``(batch, 1)`` or ``(batch,)``.

    Returns:
        Scalar tensor: ``mean((pred_logcounts - log(1 + sum(true_counts)))**2)`` over the batch.
    """
    pred_logcounts = ops.reshape(ops.convert_to_tensor(pred_logcounts), (-1,))
    true_counts = ops.cast(true_counts, pred_logcounts.dtype)
    true_logcounts = ops.log1p(ops.sum(true_counts, axis=-1))
    return ops.mean(ops.square(pred_logcounts - ops.reshape(true_logcounts, (-1,))))


def chrombpnet_total_loss(true_counts, logits, pred_logcounts, counts_loss_weight):
    """ChromBPNet's training objective: ``multinomial_nll + counts_loss_weight * logcount_mse``.

    Args:
        true_counts: Observed per-base counts, shape ``(batch, positions)``.
        logits: Predicted profile logits, shape ``(batch, positions)``.
        pred_logcounts: Predicted log-counts, shape ``(batch, 1)`` or ``(batch,)``.
        counts_loss_weight: Weight of the count loss (the official pipeline uses median(total counts) / 10, at least 1).

    Returns:
        Scalar tensor.
    """
    return multinomial_nll(true_counts, logits) + counts_loss_weight * logcount_mse(
        true_counts, pred_logcounts
    )


def chrombpnet_loss(counts_loss_weight):
    """What ``model.compile`` needs for a model with outputs ``profile`` and ``logcounts``.

    The ``logcounts`` target of our data pipelines is already ``log(1 + total counts)``, so its loss
    is plain mean squared error; the ``profile`` target is the per-base counts.

    Args:
        counts_loss_weight: Positive weight of the count loss relative to the profile loss.

    Returns:
        ``(loss, loss_weights)``: ``{"profile": MultinomialNLL(), "logcounts": MeanSquaredError()}``
        and ``{"profile": 1.0, "logcounts": counts_loss_weight}``; use as
        ``model.compile(optimizer, loss=loss, loss_weights=loss_weights)``.
    """
    weight = float(counts_loss_weight)
    if not math.isfinite(weight) or weight <= 0:
        raise ValueError(
            f"counts_loss_weight={counts_loss_weight!r} is not a positive number; ChromBPNet uses "
            "median(total counts per peak) / 10, at least 1.0."
        )
    loss = {"profile": MultinomialNLL(), "logcounts": keras.losses.MeanSquaredError(name="logcount_mse")}
    loss_weights = {"profile": 1.0, "logcounts": weight}
    return loss, loss_weights


@keras.saving.register_keras_serializable(package="dream_keras")
class SoftBinKL(keras.losses.Loss):
    """KL divergence ``KL(target bins || predicted bins)`` for the DREAM soft-bin head.

    Per example ``sum_k p_k (log p_k - log q_k)`` over the bins, where ``p`` are the target bin
    probabilities and ``q`` the predicted ones; with the default reduction the values are averaged
    over the batch (PyTorch's ``KLDivLoss(reduction="batchmean")``, as the DREAM trainer uses).
    Bins with target probability 0 contribute exactly 0 and give finite gradients, whatever the
    prediction there.

    Args:
        from_logits: ``False`` (default): ``y_pred`` holds probabilities (the soft-bin head's softmax output),
            floored at ``keras.config.epsilon()`` before the log. ``True``: ``y_pred`` holds logits and
            ``log_softmax`` is applied (more accurate for tiny probabilities).
        reduction: Keras reduction of the per-example divergences.
        name: Name of the loss.
        dtype: Dtype (or dtype policy name) of the computation; ``None`` uses ``keras.config.floatx()``.
    """

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name="soft_bin_kl", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        """Per-example KL divergence.

        Args:
            y_true: Target bin probabilities, shape ``(batch, bins)`` (18 bins for DREAM), rows summing to 1.
            y_pred: Predicted bin probabilities (or logits with ``from_logits=True``), shape ``(batch, bins)``.

        Returns:
            Tensor of shape ``(batch,)``.
        """
        if self.from_logits:
            log_predicted = ops.log_softmax(y_pred, axis=-1)
        else:
            log_predicted = ops.log(ops.maximum(y_pred, keras.config.epsilon()))
        has_mass = y_true > 0
        # log of 1 in the empty bins keeps both the value and its gradient finite there.
        log_target = ops.log(ops.where(has_mass, y_true, ops.ones_like(y_true)))
        terms = ops.where(has_mass, y_true * (log_target - log_predicted), ops.zeros_like(y_true))
        return ops.sum(terms, axis=-1)

    def get_config(self):
        """Return the constructor arguments: from_logits, reduction, name and dtype policy."""
        config = super().get_config()
        config.update({"from_logits": self.from_logits, "dtype": self._dtype_policy.name})
        return config
