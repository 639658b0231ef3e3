"""The parameters of a variant-scoring run, each default declared once, here.

``dream-keras variants`` builds a :class:`VariantScoringParameters` from its flags (its help texts
read the defaults from here) and ``run.json`` records it, so ``--resume`` can check that it
continues the same run. Importing this module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import dataclasses

from dream_keras.interpret.variants.shuffled_variants import DEFAULT_SEED
from dream_keras.interpret.variants.variant_files import DEFAULT_SCHEMA

#: the parameters that change no number in the outputs (a resumed run may change them)
NOT_RECORDED_FOR_RESUME = ("resume", "overwrite", "progress", "plot", "parquet")


@dataclasses.dataclass(kw_only=True)
class VariantScoringParameters:
    """One ``dream-keras variants`` run.

    Attributes:
        models: ``.keras`` files; one of them, or several (e.g. one per fold: a long table with a
            row per variant and model, and the summary across models).
        genome: reference FASTA (reference alleles are checked against it).
        variants: VCF or official variant list.
        out: output folder.
        schema: ``auto``, ``vcf``, ``chrombpnet``, ``bed``, ``plink`` or ``original``.
        peaks: narrowPeak/BED of the assay's peaks for the allele quantiles (``None``: no quantiles).
        max_peaks: sample this many peaks (the official ``--max_peaks``).
        num_shuffles: shuffled variants per variant for the p-values (0: no p-values).
        total_shuffles: the total number of shuffled variants instead (wins over ``num_shuffles``).
        seed: the seed of the shuffles and of the peak sample (the official ``--random_seed``).
        batch_size: variants per model call (each is 4 windows: 2 alleles x 2 strands).
        chunk_size: variants scored, written and resumable as one unit (bounds memory).
        snv_reuse: compute SNVs' alternate alleles from the reference's activations where the model
            allows it (BPNet; the same numbers up to float32 rounding, about 1.7x fewer operations).
        skip_bad: skip and count bad variants instead of refusing them.
        no_bias: score the bias-free part of bias-factorised models.
        allow_bias_model: score a bias model (enzyme preference) instead of refusing it.
        hdf5: also write the allele predictions (counts and profile logits) to HDF5.
        parquet: also write the tables as Parquet (needs pyarrow).
        plot: variant IDs to draw (profiles and contribution tracks of both alleles).
        resume: continue an interrupted run in ``out``.
        overwrite: replace ``out``.
        progress: show a progress bar (only on a terminal).
    """

    models: list[str]
    genome: str
    variants: str
    out: str
    schema: str = DEFAULT_SCHEMA
    peaks: str | None = None
    max_peaks: int | None = None
    num_shuffles: int = 0
    total_shuffles: int | None = None
    seed: int = DEFAULT_SEED
    batch_size: int = 16
    chunk_size: int = 1024
    snv_reuse: bool = True
    skip_bad: bool = False
    no_bias: bool = False
    allow_bias_model: bool = False
    hdf5: bool = False
    parquet: bool = False
    plot: list[str] = dataclasses.field(default_factory=list)
    resume: bool = False
    overwrite: bool = False
    progress: bool = True

    def as_dict(self) -> dict:
        """Every parameter, as ``run.json`` records them."""
        return dataclasses.asdict(self)

    def recorded(self) -> dict:
        """What ``run.json`` must hold the same for ``--resume`` to continue (the rest may change)."""
        return {k: v for k, v in self.as_dict().items() if k not in NOT_RECORDED_FOR_RESUME}


def parameter_default(name: str):
    """The declared default of a :class:`VariantScoringParameters` field (for the CLI's help texts)."""
    for field in dataclasses.fields(VariantScoringParameters):
        if field.name == name:
            if field.default is not dataclasses.MISSING:
                return field.default
            return field.default_factory()
    raise KeyError(name)


__all__ = ["VariantScoringParameters", "parameter_default"]
