"""The shuffled variants whose scores are the null of the p-values, drawn as the official scorer draws them.

The official scorer (``create_shuffle_table``, after ``numpy.random.seed(seed)``) draws
``num_shuffles x n`` variants from the ``n`` scorable ones with replacement (pandas ``sample``
with ``random_state=seed``; with a total ``T`` instead: ``T`` of them, without replacement when
``n > T``), and gives the ``i``-th draw the shuffle seed ``permutation(T)[i]`` of the seeded global
generator. A shuffled variant has the alleles of the variant drawn, placed in its genome segment
after a dinucleotide shuffle with ``RandomState(shuffle seed)``
(:mod:`.dinucleotide_shuffle`, :mod:`.windows`). Every variant's score is then compared with the
scores of all shuffled variants pooled (:func:`.scores.empirical_pvalues`), per model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dream_keras.interpret.variants.variant_files import VARIANT_COLUMNS

#: the official scorer's default seed (``--random_seed``)
DEFAULT_SEED = 1234


def shuffle_count(n_variants: int, num_shuffles: int | None, total_shuffles: int | None) -> int:
    """How many shuffled variants: ``total_shuffles`` when given, else ``num_shuffles x n_variants``."""
    if total_shuffles is not None:
        return int(total_shuffles)
    return int(num_shuffles or 0) * int(n_variants)


def shuffled_variant_table(variants: pd.DataFrame, num_shuffles: int | None = None, total_shuffles: int | None = None,
                           seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The shuffled variants (module docstring).

    Args:
        variants: the scorable variants (``chr, pos, allele1, allele2, variant_id``), in order.
        num_shuffles: shuffled variants per variant (the official ``--num_shuf``).
        total_shuffles: the total instead (the official ``--total_shuf``; wins over ``num_shuffles``).
        seed: the official ``--random_seed``.

    Returns:
        DataFrame ``chr, pos, allele1, allele2, variant_id, random_seed, source_row`` (``source_row``:
        the row of ``variants`` drawn); empty without shuffles.
    """
    n = len(variants)
    total = shuffle_count(n, num_shuffles, total_shuffles)
    columns = [*VARIANT_COLUMNS, "random_seed", "source_row"]
    if total == 0 or n == 0:
        return pd.DataFrame(columns=columns)
    replace = total_shuffles is None or n <= total
    picks = np.random.RandomState(seed).choice(n, size=total, replace=replace)
    seeds = np.random.RandomState(seed).permutation(total)
    table = variants.iloc[picks][VARIANT_COLUMNS].reset_index(drop=True)
    return table.assign(random_seed=seeds, source_row=picks)[columns]


__all__ = ["DEFAULT_SEED", "shuffle_count", "shuffled_variant_table"]
