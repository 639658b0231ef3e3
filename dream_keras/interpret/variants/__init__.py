"""Variant effects as the official ChromBPNet variant scorer (kundajelab/variant-scorer) reports them.

Modules, in the order a run uses them:

- :mod:`.variant_files`: VCF and the official schemas (``chrombpnet``, ``bed``, ``plink``, ``original``);
- :mod:`.variant_checks`: bad variants named with their lines, refused or skipped and counted;
- :mod:`.scoring_models`: the models, with bias models refused and bias-factorised ones warned about;
- :mod:`.chromosomes`, :mod:`.windows`: allele windows cut from one chromosome held in memory;
- :mod:`.dinucleotide_shuffle`, :mod:`.shuffled_variants`: the shuffled variants of the p-values;
- :mod:`.allele_predictions`: both alleles and both strands in one batched model call;
- :mod:`.snv_reuse`: for BPNet, SNVs share reference activations and compute only what the
  alternate allele changes;
- :mod:`.scores`, :mod:`.peak_scores`, :mod:`.fold_summary`: the official columns, quantiles,
  p-values and the summary across models;
- :mod:`.chunk_scoring`, :mod:`.chunk_store`, :mod:`.score_tables`, :mod:`.output_files`: chunked,
  resumable scoring and the output files;
- :mod:`.variant_plots`: a figure per variant;
- :mod:`.scoring`: a whole run (:func:`prepare_run`, :func:`score_run`) and :func:`score_variants`
  (the same in memory).
"""

from dream_keras.interpret.variants.parameters import VariantScoringParameters
from dream_keras.interpret.variants.scoring import prepare_run, score_run, score_variants
from dream_keras.interpret.variants.variant_files import SCHEMAS, read_variant_list

__all__ = ["SCHEMAS", "VariantScoringParameters", "prepare_run", "read_variant_list", "score_run", "score_variants"]
