"""Every parameter of ``dream-keras pipeline``, with the official ``chrombpnet pipeline``'s defaults.

Kept apart from the stages so that the command line reads the defaults without importing Keras.
"""

from __future__ import annotations

import dataclasses

#: Read formats the reads stage takes (``--bam``, ``--fragments``, ``--tagalign``).
READ_FORMATS = ("bam", "fragments", "tagalign")
DATA_TYPES = ("ATAC", "DNASE")
#: Transcription-factor motifs footprinted besides the enzyme's own (bundled JASPAR 2024 names):
#: factors bound in most cell types, so their footprints say whether the model learnt TF grammar.
DEFAULT_TF_MOTIFS = ("CTCF", "SP1", "FOS::JUN", "Nrf1")


@dataclasses.dataclass
class PipelineParameters:
    """Inputs and options of one pipeline run (field names are the command's options).

    Signal: ``bigwig`` (per-base insertion counts, shift applied), or ``reads`` with
    ``reads_format`` (one of :data:`READ_FORMATS`), made into a bigWig by the reads stage.
    ``fold``: a number (``fold_N.json`` in ``fold_dir``), ``all``, or a fold JSON file.
    ``bias_model``: reuse a trained bias model instead of training one.
    ``bias_threshold_factor=None`` takes the assay's convention (ATAC 0.5, DNase 0.8).
    ``footprint_regions=None`` footprints on every test-chromosome nonpeak (as the official QC).
    """

    genome: str
    peaks: str
    fold: str
    bigwig: str | None = None
    reads: str | None = None
    reads_format: str | None = None
    data_type: str = "ATAC"
    plus_shift: int | None = None
    minus_shift: int | None = None
    blacklist: str | None = None
    fold_dir: str | None = None
    bias_model: str | None = None
    input_length: int = 2114
    output_length: int = 1000
    max_jitter: int = 500
    nonpeak_ratio: int = 2
    nonpeak_stride: int = 1000
    bias_filters: int = 128
    bias_n_dil_layers: int = 4
    bias_epochs: int = 50
    bias_threshold_factor: float | None = None
    backbone: str = "bpnet"
    filters: int = 512
    n_dil_layers: int = 8
    epochs: int = 50
    patience: int = 5
    lr: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    footprint_motifs: list = dataclasses.field(default_factory=lambda: list(DEFAULT_TF_MOTIFS))
    footprint_regions: int | None = None

    def as_dict(self) -> dict:
        """The parameters as plain values, as ``pipeline.json`` records them."""
        return dataclasses.asdict(self)


#: ``{field: default}`` for the command line's help and for options left out.
PIPELINE_DEFAULTS = {field.name: field.default for field in dataclasses.fields(PipelineParameters)
                     if field.default is not dataclasses.MISSING}
PIPELINE_DEFAULTS["footprint_motifs"] = list(DEFAULT_TF_MOTIFS)
