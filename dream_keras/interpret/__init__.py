"""Interpretation of trained models: which bases matter, and what a variant does.

- :func:`ism`: in-silico mutagenesis, every single-base substitution predicted in batches.
- :func:`contributions`: DeepSHAP (the official ChromBPNet method; :func:`deepshap_with_references` for given
  references), gradient x input or integrated gradients (dinucleotide-shuffled references).
- :func:`marginal_footprint` / :func:`marginal_footprints`: a motif inserted into backgrounds.
- :func:`score_variants`: SNV and indel effects as the official variant scorer reports them
  (:mod:`dream_keras.interpret.variants`).

Every function takes any Keras model with dict outputs (``SequenceModel``, a bias-factorised
model, a plain functional model) and only calls it; the output explained is chosen by name (see
:mod:`dream_keras.interpret.targets`). ISM, footprints and variants work on every Keras backend;
gradients use TensorFlow.
"""

from dream_keras.interpret.attributions import contributions, default_method
from dream_keras.interpret.deepshap import DeepShapScores, deepshap_refusal, deepshap_with_references
from dream_keras.interpret.footprints import (
                                              BIAS_RESPONSE_THRESHOLD,
                                              Footprint,
                                              insert_motif,
                                              marginal_footprint,
                                              marginal_footprints,
)
from dream_keras.interpret.ism import IsmScores, ism, ism_outputs
from dream_keras.interpret.shuffle import dinucleotide_shuffle
from dream_keras.interpret.variants import read_variant_list, score_variants

__all__ = [
    "BIAS_RESPONSE_THRESHOLD", "DeepShapScores", "Footprint", "IsmScores", "contributions", "deepshap_refusal",
    "deepshap_with_references", "default_method", "dinucleotide_shuffle", "insert_motif", "ism", "ism_outputs",
    "marginal_footprint", "marginal_footprints", "read_variant_list", "score_variants",
]
