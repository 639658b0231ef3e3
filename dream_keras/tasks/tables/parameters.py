"""The parameters of a sequence-table training run, each default declared once, here.

``dream-keras train --task dream_yeast|starrseq|lentimpra`` builds a :class:`TableTrainParameters`
from its flags, Python code passes one to :func:`dream_keras.tasks.tables.train.train_tables` (or
keywords to ``train_table_task``), and ``run.json`` records the resolved values under the same names,
so ``--config run.json`` repeats a run. Importing this module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import dataclasses

DEFAULT_BACKBONE = "dream_rnn"
"""The backbone a table task trains unless told otherwise (the paper's DREAM-RNN)."""


@dataclasses.dataclass(kw_only=True)
class TableTrainParameters:
    """Every parameter of a sequence-table run (field names are ``dream-keras train``'s options).

    ``None`` takes the recipe's or the task's value: ``head`` (the task's DREAM head, or the backbone's
    own), ``recipe`` (the model family's), ``epochs``, ``patience``, ``lr`` (the one-cycle peak for
    the DREAM recipe), ``batch_size`` (per replica) and ``accumulate`` (the recipe's); ``augment``
    (reverse-complement doubling: yes for DREAM yeast only). ``fold`` is a lentiMPRA test fold or
    ``"all"`` (with ``folds``: which ones); ``valid_chromosomes``/``test_chromosomes`` split STARR-seq
    without a ``valid`` table.
    """

    task: str
    data: str
    valid: str | None = None
    fold: int | str | None = None
    folds: list | None = None
    backbone: str = DEFAULT_BACKBONE
    head: str | None = None
    recipe: str | None = None
    epochs: int | None = None
    patience: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    accumulate: int | None = None
    seed: int = 0
    model_options: dict = dataclasses.field(default_factory=dict)
    valid_fraction: float = 0.1
    valid_chromosomes: list | None = None
    test_chromosomes: list | None = None
    reverse_channel: bool = False
    augment: bool | None = None
    #: Keras dtype policy, XLA choice and distribution (dream_keras.training.performance / .distribution)
    precision: str = "float32"
    jit_compile: str = "auto"
    strategy: str = "default"

    def as_dict(self) -> dict:
        """The parameters as plain values, as ``run.json`` records them."""
        return dataclasses.asdict(self)


DERIVED_KEYS = ("recipe_settings", "distribution", "resolved_model_options", "split")
"""What ``run.json`` records besides the fields (values the run derived; not options)."""

__all__ = ["DEFAULT_BACKBONE", "DERIVED_KEYS", "TableTrainParameters"]
