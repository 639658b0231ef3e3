"""Averaging predictions (fold models, forward and reverse strands) and the extra profile outputs.

For the profile/count head (``profile`` logits, ``logcounts``) a member's outputs are combined as
distributions and counts, not as raw numbers:

- ``profile_probs``: the mean of the members' softmax over positions (per track);
- ``profile``: the log of that mean (a log-probability vector, so ``softmax(profile) == profile_probs``;
  computed as a log-mean-exp of the members' log-softmax, so it stays finite);
- ``logcounts``: the log of the mean predicted count, ``log(mean(exp(logcounts)))``;
- ``predicted_counts``: ``exp(logcounts)``, the mean predicted count.

With one member, ``profile`` and ``logcounts`` are the model's own outputs. Every other output
(soft bins, expression, task activities) is the plain mean, as the DREAM evaluation averages the two
strands' expression. Profiles are averaged as probabilities, unweighted; ChromBPNet's marginal
footprinting instead weights each strand's probabilities by its predicted counts.
"""

from __future__ import annotations

import math

import tensorflow as tf

from dream_keras.export.serving_spec import ServingSpec

PROFILE_PROBS = "profile_probs"
"""Extra output of profile/count servables: the softmax of ``profile`` over positions."""
PREDICTED_COUNTS = "predicted_counts"
"""Extra output of profile/count servables: ``exp(logcounts)``."""


def _by_track(profile: tf.Tensor, spec: ServingSpec) -> tf.Tensor:
    """``(batch, length * tracks)`` position-major -> ``(batch, length, tracks)``."""
    return tf.reshape(profile, (-1, spec.profile_length, spec.profile_tracks))


def _flat(profile: tf.Tensor, spec: ServingSpec) -> tf.Tensor:
    return tf.reshape(profile, (-1, spec.profile_length * spec.profile_tracks))


def profile_softmax(profile: tf.Tensor, spec: ServingSpec) -> tf.Tensor:
    """Softmax over positions, per track: ``(batch, length * tracks)`` -> same shape."""
    return _flat(tf.nn.softmax(_by_track(profile, spec), axis=1), spec)


def _profile_log_softmax(profile: tf.Tensor, spec: ServingSpec) -> tf.Tensor:
    return _flat(tf.nn.log_softmax(_by_track(profile, spec), axis=1), spec)


def _log_mean_exp(values: list[tf.Tensor]) -> tf.Tensor:
    return tf.reduce_logsumexp(tf.stack(values), axis=0) - math.log(len(values))


def reverse_strand_back(outputs: dict, spec: ServingSpec) -> dict:
    """Map the predictions for a reverse-complemented input back to the forward strand.

    The profile is reversed along its positions (per track); every other output is a per-sequence
    value and stays as it is.
    """
    if not spec.profile_count:
        return dict(outputs)
    return dict(outputs, profile=_flat(tf.reverse(_by_track(outputs["profile"], spec), axis=[1]), spec))


def average_predictions(members: list[dict], spec: ServingSpec) -> dict:
    """Combine the outputs of several predictions of the same sequences (see the module docstring).

    Args:
        members: one dict of ``(batch, ...)`` float32 tensors per prediction, named as ``spec``.
        spec: the servable's inputs and outputs.

    Returns:
        the model's outputs, plus ``profile_probs`` and ``predicted_counts`` for profile/count models.
    """
    names = spec.output_names
    if len(members) == 1:
        combined = {name: members[0][name] for name in names}
    else:
        combined = {name: tf.add_n([member[name] for member in members]) / len(members) for name in names}
    if not spec.profile_count:
        return combined
    if len(members) == 1:
        combined[PROFILE_PROBS] = profile_softmax(combined["profile"], spec)
    else:
        combined[PROFILE_PROBS] = tf.add_n([profile_softmax(m["profile"], spec) for m in members]) / len(members)
        combined["profile"] = _log_mean_exp([_profile_log_softmax(m["profile"], spec) for m in members])
        combined["logcounts"] = _log_mean_exp([m["logcounts"] for m in members])
    combined[PREDICTED_COUNTS] = tf.exp(combined["logcounts"])
    return combined
