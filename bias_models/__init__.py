"""The ChromBPNet-compatible bias stage for any backbone with the profile_count head.

- :mod:`bias_models.bias_data`: which nonpeaks train the bias model (:func:`select_bias_nonpeaks`)
  and its default options (:func:`bias_model_options`, :func:`build_bias_model`).
- :mod:`bias_models.scaling`: rescale a bias model's log-counts to new data (:func:`scale_bias_logcounts`).
- :mod:`bias_models.factorised`: :func:`with_bias` / :func:`without_bias` and the serialisable
  :class:`BiasFactorizedModel` (profile logits summed, log-counts combined by logsumexp).
- :mod:`bias_models.qc`: the official bias checks (:func:`bias_count_qc`, :func:`footprint_qc`).

Import this package before loading a ``.keras`` file of a bias-factorised model, so that its
classes are registered with Keras.
"""

from bias_models.bias_data import (
                                   BIAS_MODEL_DEFAULTS,
                                   BIAS_THRESHOLD_FACTORS,
                                   BiasNonpeaks,
                                   bias_model_options,
                                   bias_threshold_factor,
                                   build_bias_model,
                                   keep_windows,
                                   select_bias_nonpeaks,
)
from bias_models.factorised import BiasFactorizedModel, LogSumExp, with_bias, without_bias
from bias_models.qc import CountQC, FootprintQC, bias_count_qc, count_qc, enzyme_motifs, footprint_qc
from bias_models.scaling import logcount_dense_layer, logcount_offset, scale_bias_logcounts

__all__ = [
    "BIAS_MODEL_DEFAULTS", "BIAS_THRESHOLD_FACTORS", "BiasFactorizedModel", "BiasNonpeaks",
    "CountQC", "FootprintQC", "LogSumExp", "bias_count_qc", "bias_model_options", "bias_threshold_factor",
    "build_bias_model", "count_qc", "enzyme_motifs", "footprint_qc", "keep_windows", "logcount_dense_layer",
    "logcount_offset", "scale_bias_logcounts", "select_bias_nonpeaks", "with_bias", "without_bias",
]
