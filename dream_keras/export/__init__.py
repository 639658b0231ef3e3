"""Export zoo models as SavedModels that TF Serving loads as they are (``BASE/NAME/VERSION/``).

Signatures: ``serving_default`` (one-hot ``sequence``), ``predict_dna`` (DNA strings, one-hot
encoded in the graph), ``predict_rc_average`` and ``predict_dna_rc_average`` (forward and
reverse-complement predictions averaged). See :func:`export_saved_model`.
"""

from dream_keras.export.averaging import PREDICTED_COUNTS, PROFILE_PROBS
from dream_keras.export.graph_ops import non_builtin_ops, saved_model_op_types, xla_compiled_functions
from dream_keras.export.layout import existing_versions, next_version
from dream_keras.export.saved_model import DEFAULT_SIGNATURES, SIGNATURES, export_saved_model
from dream_keras.export.serving_spec import ServingSpec, serving_spec

__all__ = ["export_saved_model", "SIGNATURES", "DEFAULT_SIGNATURES", "PROFILE_PROBS", "PREDICTED_COUNTS",
           "existing_versions", "next_version", "saved_model_op_types", "non_builtin_ops", "xla_compiled_functions",
           "ServingSpec", "serving_spec"]
