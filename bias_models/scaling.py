"""Rescale a trained bias model's log-counts to the read depth of the data the main model trains on.

A bias model may come from another experiment (or from the same one with other filters), so its
log-counts can sit at the wrong depth. Before the main model trains, the official pipeline
(``adjust_bias_model_logcounts``) adds the constant that minimises the squared error of the bias
model's log-counts on the train+valid nonpeaks kept for the main model: the mean of
``log(1 + observed totals) - predicted log-counts``, added to the bias of the count Dense layer
(``logcount_predictions``). Profiles are untouched (a constant shift of log-counts only).
"""

from __future__ import annotations

import keras
import numpy as np

from data_prep.errors import InputError
from dream_keras.interpret.predict import predict_outputs


def logcount_dense_layer(model) -> keras.layers.Dense:
    """The Dense layer that outputs ``model``'s ``logcounts`` (``logcount_predictions`` in a bias model).

    Raises :class:`InputError` when ``logcounts`` is not produced directly by a Dense layer with a
    bias (e.g. a bias-factorised model, whose log-counts come from a logsumexp).
    """
    outputs = getattr(model, "output", None)
    if not isinstance(outputs, dict) or "logcounts" not in outputs:
        raise InputError(f"model {getattr(model, 'name', model)!r} has no 'logcounts' output to rescale")
    layer = outputs["logcounts"]._keras_history.operation
    if not isinstance(layer, keras.layers.Dense) or not layer.use_bias:
        raise InputError(f"the 'logcounts' output of model {model.name!r} comes from {type(layer).__name__} "
                         f"{layer.name!r}, not from a Dense layer with a bias; pass the bias model itself "
                         "(e.g. bias_models.without_bias is the wrong part; use combined.bias_model)")
    return layer


def logcount_offset(bias_model, sequences, totals, *, batch_size: int = 64, progress: bool = False) -> float:
    """``mean(log(1 + totals) - predicted log-counts)`` of ``bias_model`` over the given regions.

    Args:
        bias_model: model with a ``logcounts`` output ``(batch, 1)``.
        sequences: one-hot ``(n, input_length, 4)`` of the regions (the kept train+valid nonpeaks).
        totals: ``(n,)`` observed total counts over each region's output window.
        batch_size: sequences per model call.
        progress: show a progress bar.

    Returns:
        The offset (float): adding it to the log-counts makes their mean residual 0 on these regions.
    """
    totals = np.asarray(totals, dtype=np.float64).ravel()
    if len(totals) != len(sequences):
        raise InputError(f"{len(sequences)} sequences but {len(totals)} totals; pass one total per sequence")
    if len(totals) == 0:
        raise InputError("no regions to rescale the bias model on (the kept train+valid nonpeaks are empty)")
    if np.any(totals < 0) or not np.all(np.isfinite(totals)):
        raise InputError("totals must be finite and non-negative (per-region sums of counts)")
    predicted = predict_outputs(bias_model, sequences, batch_size=batch_size, progress=progress,
                                desc="bias log-counts", outputs=("logcounts",))["logcounts"].reshape(len(totals), -1)
    if predicted.shape[1] != 1:
        raise InputError(f"the bias model predicts {predicted.shape[1]} log-counts per region; rescaling needs one")
    return float(np.mean(np.log1p(totals) - predicted[:, 0].astype(np.float64)))


def _copy_model(model) -> keras.Model:
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def scale_bias_logcounts(bias_model, sequences, totals, *, batch_size: int = 64, progress: bool = False):
    """A copy of ``bias_model`` whose log-counts are shifted to the depth of ``totals``.

    The shift :func:`logcount_offset` is added to the bias of the count Dense layer (see
    :func:`logcount_dense_layer`); after it the mean of ``log(1 + totals) - predicted log-counts``
    over these regions is 0. ``bias_model`` itself is not changed: the copy is rebuilt from its
    config and weights (and is trainable; :func:`bias_models.with_bias` freezes it).

    Args:
        bias_model: trained bias model (outputs ``profile``, ``logcounts`` ``(batch, 1)``).
        sequences: one-hot ``(n, input_length, 4)`` of the train+valid nonpeaks kept for the main model
            (after its outlier filter).
        totals: ``(n,)`` their observed total counts over the output window.
        batch_size: sequences per model call.
        progress: show a progress bar.

    Returns:
        The scaled copy (same class, config and weights except the count Dense bias).
    """
    logcount_dense_layer(bias_model)  # fail before predicting
    offset = logcount_offset(bias_model, sequences, totals, batch_size=batch_size, progress=progress)
    scaled = _copy_model(bias_model)
    dense = logcount_dense_layer(scaled)
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, (bias.astype(np.float64) + offset).astype(bias.dtype)])
    return scaled
