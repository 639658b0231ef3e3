"""The summary across models (folds), as the official ``variant_summary_across_folds`` writes it.

For every score of :data:`~.scores.SUMMARY_SCORES` present (and ``<o>_diff`` of single-value
outputs): ``<score>.mean``, the mean over the models, and, when the per-model table has
``<score>.pval``, ``<score>.mean.pval``, the geometric mean of the models' p-values
(``exp(mean(log p))``; the official summary's definition: a summary of the folds' p-values, not a
p-value of the mean score).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dream_keras.interpret.variants.scores import SUMMARY_SCORES
from dream_keras.interpret.variants.variant_files import VARIANT_COLUMNS


def summary_scores(columns) -> list[str]:
    """The score columns the summary averages, in the official order."""
    return [name for name in SUMMARY_SCORES if name in columns] + [c for c in columns if c.endswith("_diff")]


def summarise_models(long_table: pd.DataFrame, n_models: int) -> pd.DataFrame:
    """One row per variant from a long table whose rows are variant-major.

    Each variant's ``n_models`` rows are together, model 0 first.

    Returns:
        DataFrame ``chr, pos, allele1, allele2, variant_id`` and ``<score>.mean`` /
        ``<score>.mean.pval`` columns.
    """
    n = len(long_table) // n_models
    first = long_table.iloc[::n_models]
    summary = {name: first[name].to_numpy() for name in VARIANT_COLUMNS}
    for name in summary_scores(long_table.columns):
        values = long_table[name].to_numpy(dtype=np.float64).reshape(n, n_models)
        summary[f"{name}.mean"] = values.mean(axis=1)
        if f"{name}.pval" in long_table:
            pvalues = long_table[f"{name}.pval"].to_numpy(dtype=np.float64).reshape(n, n_models)
            summary[f"{name}.mean.pval"] = np.exp(np.log(pvalues).mean(axis=1))
    return pd.DataFrame(summary)


__all__ = ["summarise_models", "summary_scores"]
