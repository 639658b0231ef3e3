"""Every parameter of ``dream-keras pipeline``, with the official ``chrombpnet pipeline``'s defaults.

Each default is declared once, where the step that uses it declares it: window sizes and training
settings are those of :class:`~dream_keras.tasks.atac.parameters.AtacTrainParameters` and
:class:`~dream_keras.tasks.atac.parameters.BiasTrainParameters`, the nonpeak options those of
:func:`data_prep.make_nonpeaks`, and model sizes left at ``None`` are the backbone's own (its registry
entry: ``defaults`` for the main model, ``bias_defaults`` for the bias model). Kept apart from the
stages so that the command line reads the defaults without importing Keras.
"""

from __future__ import annotations

import dataclasses

from data_prep.nonpeaks import NONPEAK_STRIDE, NONPEAKS_PER_PEAK
from dream_keras.motif_settings import MAX_SEQLETS, MODISCO_WINDOW, MOTIF_CONTRIBUTION_METHOD, MOTIF_OUTPUT, MOTIF_PEAKS
from dream_keras.tasks.atac.parameters import AtacTrainParameters, BiasTrainParameters
from dream_keras.tasks.parameter_defaults import field_default

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
    ``nonpeaks``: use these background regions (narrowPeak/BED) instead of making GC-matched ones.
    ``bias_threshold_factor=None`` takes the assay's convention (ATAC 0.5, DNase 0.8).
    ``bias_filters``, ``bias_n_dil_layers``, ``filters``, ``n_dil_layers``: ``None`` takes the
    backbone's own (for ``bpnet`` the official bias and main models' sizes).
    ``footprint_regions=None`` footprints on every test-chromosome nonpeak (as the official QC).
    Motifs: contributions (``motif_contribution_method``, of ``motif_output``) of the bias-free model
    on at most ``motif_peaks`` peaks, then TF-MoDISco on the central ``motif_window`` bases with at
    most ``motif_max_seqlets`` seqlets per sign, named against ``motif_db`` (``None``: the bundled
    database); the defaults are the official pipeline's (:mod:`dream_keras.motif_settings`).
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
    nonpeaks: str | None = None
    input_length: int = field_default(AtacTrainParameters, "input_length")
    output_length: int = field_default(AtacTrainParameters, "output_length")
    max_jitter: int = field_default(AtacTrainParameters, "max_jitter")
    nonpeak_ratio: int = NONPEAKS_PER_PEAK
    nonpeak_stride: int = NONPEAK_STRIDE
    bias_filters: int | None = None
    bias_n_dil_layers: int | None = None
    bias_epochs: int = field_default(BiasTrainParameters, "epochs")
    bias_threshold_factor: float | None = None
    backbone: str = field_default(AtacTrainParameters, "backbone")
    filters: int | None = None
    n_dil_layers: int | None = None
    epochs: int = field_default(AtacTrainParameters, "epochs")
    patience: int = field_default(AtacTrainParameters, "patience")
    lr: float = field_default(AtacTrainParameters, "lr")
    #: per replica, as ``dream-keras train --batch-size``
    batch_size: int = field_default(AtacTrainParameters, "batch_size")
    seed: int = field_default(AtacTrainParameters, "seed")
    footprint_motifs: list = dataclasses.field(default_factory=lambda: list(DEFAULT_TF_MOTIFS))
    footprint_regions: int | None = None
    motif_peaks: int = MOTIF_PEAKS
    motif_window: int = MODISCO_WINDOW
    motif_max_seqlets: int = MAX_SEQLETS
    motif_output: str = MOTIF_OUTPUT
    motif_contribution_method: str = MOTIF_CONTRIBUTION_METHOD
    motif_db: str | None = None

    def as_dict(self) -> dict:
        """The parameters as plain values, as ``pipeline.json`` records them."""
        return dataclasses.asdict(self)

    def bias_model_options(self) -> dict:
        """The bias model's options given (``--bias-filters``, ``--bias-n-dil-layers``).

        The backbone's ``bias_defaults`` fill in the rest.
        """
        return _given(filters=self.bias_filters, n_dil_layers=self.bias_n_dil_layers)

    def main_model_options(self) -> dict:
        """The main model's options given (``--filters``, ``--n-dil-layers``).

        The backbone's defaults fill in the rest.
        """
        return _given(filters=self.filters, n_dil_layers=self.n_dil_layers)


def _given(**options) -> dict:
    return {name: value for name, value in options.items() if value is not None}


#: ``{field: default}`` for the command line's help and for options left out.
PIPELINE_DEFAULTS = {field.name: field.default for field in dataclasses.fields(PipelineParameters)
                     if field.default is not dataclasses.MISSING}
PIPELINE_DEFAULTS["footprint_motifs"] = list(DEFAULT_TF_MOTIFS)
