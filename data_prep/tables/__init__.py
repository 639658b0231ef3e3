"""Sequence-activity tables: DREAM yeast, Drosophila STARR-seq (DeepSTARR) and human lentiMPRA.

Each task has one module (:mod:`~data_prep.tables.dream_yeast`, :mod:`~data_prep.tables.starrseq`,
:mod:`~data_prep.tables.lentimpra`) with the same five parts, and an entry in :data:`TASKS`:

=====================  ======================================  ========================================
part                   signature                               returns
=====================  ======================================  ========================================
load                   ``load_<task>(path, require_targets=    :class:`SequenceTable` (forward rows as
                       True, dtype=np.float32, ...)``          read, nothing augmented)
encode                 ``encode_<task>(sequences, ...)``       ``(n, L, C)`` array for new sequences
augmentation           ``with_reverse_complements(table)``     SequenceTable of 2n rows: the rows, then
                                                               their reverse-complement copies
test-time inputs       ``test_time_inputs(sequences)``         ``(forward, reverse)`` arrays; average the
                                                               model's predictions on the two
split                  yeast ``split_dream_yeast(table,        :class:`SplitIndices` (train, valid, test
                       valid_fraction, test_fraction, seed)``  row positions); split first, then
                       STARR ``split_by_chromosome(table,      ``table.subset(indices)`` and augment the
                       valid_chromosomes, test_chromosomes)``  training part
                       or ``split_by_set_column(table)``;
                       lentiMPRA ``cross_validation_split(
                       table, k)``
=====================  ======================================  ========================================

:class:`SequenceTable` fields (the same for every task):

- ``sequences`` ``(n, L, C)`` (float32 by default, uint8 on request): one-hot bases in ``alphabet``
  order (N and other letters: all zero; lower case accepted), then flag channels.
- ``targets``: name -> array. Each task in ``task_names`` has ``(n, 1)`` float32; DREAM yeast also has
  ``bins`` ``(n, 18)``, the soft-bin probabilities for a ``soft_bins`` head. Empty for tables read with
  ``require_targets=False`` that hold no measurements.
- ``table``: the n input rows (pandas DataFrame, index 0..n-1) with derived columns, including
  ``reverse_complement_copy`` (True on augmented copies).
- ``task``, ``task_names``, ``alphabet``, ``channel_names``, ``source`` (file), ``lines`` (file line per row).

Per task:

===========  ======  ============================================  ==============================  =============
task         L       channels                                      targets (task <- column)        split
===========  ======  ============================================  ==============================  =============
dream_yeast  150     A G C T, is_reverse, is_singleton (6)         expression <- column 2; bins    random share
starrseq     249     A C G T (4; + is_reverse with                 Dev <- Dev_log2_enrichment,     chromosomes
                     ``reverse_channel=True``)                     Hk <- Hk_log2_enrichment        / ``set``
lentimpra    230     A C G T (4; + is_reverse with                 activity <- mean_value          fold k
                     ``reverse_channel=True``)
===========  ======  ============================================  ==============================  =============

Every mistake in an input file raises :class:`data_prep.errors.InputError` naming the file and the
line (or the missing column) and the fix.
"""

from data_prep.tables.dream_yeast import encode_dream_yeast, load_dream_yeast, split_dream_yeast
from data_prep.tables.lentimpra import cross_validation_split, encode_lentimpra, load_lentimpra
from data_prep.tables.sequence_table import SequenceTable, SplitIndices
from data_prep.tables.starrseq import encode_starrseq, load_starrseq, split_by_chromosome, split_by_set_column
from data_prep.tables.tasks import TASKS, TaskSpec


def with_reverse_complements(table: SequenceTable) -> SequenceTable:
    """The task's reverse-complement augmentation of ``table`` (2n rows: the rows, then their copies)."""
    return TASKS[table.task].with_reverse_complements(table)


__all__ = [
    "SequenceTable", "SplitIndices", "TASKS", "TaskSpec", "with_reverse_complements",
    "load_dream_yeast", "encode_dream_yeast", "split_dream_yeast",
    "load_starrseq", "encode_starrseq", "split_by_chromosome", "split_by_set_column",
    "load_lentimpra", "encode_lentimpra", "cross_validation_split",
]
