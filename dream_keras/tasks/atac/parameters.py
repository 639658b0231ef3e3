"""The parameters of the ATAC task's two training runs, each default declared once, here.

``dream-keras bias train`` and ``dream-keras train --task atac`` build these objects from their flags
(and read their help texts' defaults with
:func:`dream_keras.tasks.parameter_defaults.field_default`); ``run.json`` records
``as_dict()``, so ``--config run.json`` repeats a run. Importing this module imports neither
TensorFlow nor Keras.
"""

from __future__ import annotations

import dataclasses

from data_prep.windows import CHROMBPNET_INPUT_LENGTH, CHROMBPNET_MAX_JITTER, CHROMBPNET_OUTPUT_LENGTH


@dataclasses.dataclass(kw_only=True)
class ProfileCountTrainParameters:
    """What the bias stage and the main model share: inputs, fold, lengths, filters and training.

    ``model_options`` go to :func:`dream_keras.build_model` (e.g. ``filters``, ``n_dil_layers``,
    ``lstm_units``); ``counts_loss_weight=None`` computes it from the data; ``fold`` is a number,
    ``all`` (main model only) or a fold JSON path, ``fold_dir`` the folder of ``fold_N.json`` files
    (default: the bundled hg38 folds). ChromBPNet's own defaults (the official pipelines).
    """

    genome: str
    bigwig: str
    peaks: str
    nonpeaks: str
    fold: str
    fold_dir: str | None = None
    backbone: str = "bpnet"
    model_options: dict = dataclasses.field(default_factory=dict)
    input_length: int = CHROMBPNET_INPUT_LENGTH
    output_length: int = CHROMBPNET_OUTPUT_LENGTH
    outlier_quantile: float = 0.9999
    counts_loss_weight: float | None = None
    epochs: int = 50
    patience: int = 5
    lr: float = 1e-3
    #: examples per replica (``--batch-size``); a step's global batch is this x the strategy's replicas
    batch_size: int = 64
    seed: int = 0
    #: default, mirrored or multiworker (dream_keras.training.distribution)
    strategy: str = "default"
    #: Keras dtype policy and XLA choice (dream_keras.training.performance)
    precision: str = "float32"
    jit_compile: str = "auto"

    def as_dict(self) -> dict:
        """The parameters as plain values, as ``run.json`` records them."""
        return dataclasses.asdict(self)


#: The head the ATAC task trains (profile and counts; bias factorisation needs it).
ATAC_HEAD = "profile_count"


@dataclasses.dataclass(kw_only=True)
class BiasTrainParameters(ProfileCountTrainParameters):
    """Every parameter of a bias-model run (field names are ``dream-keras bias train``'s options).

    For ``bpnet`` the model options default to the official bias model's (``filters`` 128,
    ``n_dil_layers`` 4, layer names without prefix as in the official ``bias.h5``).
    """

    #: nonpeaks must have totals below the 0.01 quantile of peak totals x this (ATAC 0.5, DNase 0.8)
    bias_threshold_factor: float = 0.5


@dataclasses.dataclass(kw_only=True)
class AtacTrainParameters(ProfileCountTrainParameters):
    """Every parameter of an ATAC main-model run (field names are ``dream-keras train``'s options)."""

    bias_model: str
    head: str = ATAC_HEAD
    max_jitter: int = CHROMBPNET_MAX_JITTER
    negative_ratio: float = 0.1
    #: read training and validation windows from the FASTA and bigWig batch by batch (bounded memory)
    stream: bool = False

    def as_dict(self) -> dict:
        """The parameters as plain values with ``task``, as ``run.json`` records them."""
        return {"task": "atac", **dataclasses.asdict(self)}
