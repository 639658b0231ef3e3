"""The output tables, built chunk by chunk from the stored chunk arrays.

Three steps, in this order, each reading the stored chunks again (so memory holds one chunk of
variants, the peaks' scores and the shuffled variants' scores):

1. :func:`sorted_peak_scores`: every peak's predicted counts per model (the quantiles' reference);
2. :func:`null_scores`: every shuffled variant's score columns per model, quantiles included,
   sorted (the p-values' reference);
3. :func:`long_table`: a chunk of variants with every score column and p-value, one row per
   variant and model (variant-major, model 0 first).

The first columns of every table are ``chr, pos, allele1, allele2, variant_id`` as the official
files write them: ``pos`` as read (0-based again for ``--schema bed``, as the official scorer writes
it), an empty allele as ``-``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dream_keras.interpret.variants.chunk_store import model_columns
from dream_keras.interpret.variants.scores import pvalue_columns, quantile_scores
from dream_keras.interpret.variants.variant_files import VARIANT_COLUMNS, shown_allele


def shown_variants(rows: pd.DataFrame, schema: str) -> pd.DataFrame:
    """``chr, pos, allele1, allele2, variant_id`` as the official files write them (module docstring)."""
    return pd.DataFrame({"chr": rows["chr"].to_numpy(),
                         "pos": rows["pos"].to_numpy() - (1 if schema == "bed" else 0),
                         "allele1": [shown_allele(a) for a in rows["allele1"]],
                         "allele2": [shown_allele(a) for a in rows["allele2"]],
                         "variant_id": rows["variant_id"].to_numpy()})


def complete_columns(columns: dict[str, np.ndarray], sorted_peaks: np.ndarray | None,
                     nulls: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """A model's stored columns with the quantile columns (given peaks) and the p-values (given nulls)."""
    columns = dict(columns)
    if sorted_peaks is not None:
        columns.update(quantile_scores(columns, sorted_peaks))
    if nulls is not None:
        columns.update(pvalue_columns(columns, nulls))
    return columns


def score_columns(arrays: dict[str, np.ndarray], model: int) -> dict[str, np.ndarray]:
    """A model's stored score columns of a chunk (profiles left out)."""
    return {name: value for name, value in model_columns(arrays, model).items() if value.ndim == 1}


def sorted_peak_scores(peak_chunks, n_models: int) -> list[np.ndarray]:
    """Per model, the predicted counts of every peak, sorted (``peak_chunks``: the stored peak chunks)."""
    collected = [[] for _ in range(n_models)]
    for arrays in peak_chunks:
        for model in range(n_models):
            collected[model].append(model_columns(arrays, model)["peak_score"])
    return [np.sort(np.concatenate(values)) for values in collected]


def null_scores(collected: list[list[dict[str, np.ndarray]]]) -> list[dict[str, np.ndarray]]:
    """Per model, every score column of the shuffled variants, concatenated and sorted.

    Args:
        collected: per model, the completed columns (:func:`complete_columns` without nulls) of each
            shuffled chunk.
    """
    nulls = []
    for chunks in collected:
        names = chunks[0].keys() if chunks else []
        nulls.append({name: np.sort(np.concatenate([c[name] for c in chunks])) for name in names})
    return nulls


def long_table(rows: pd.DataFrame, arrays: dict[str, np.ndarray], n_models: int, schema: str,
               sorted_peaks: list[np.ndarray] | None, nulls: list[dict[str, np.ndarray]] | None,
               extra: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One chunk as rows per variant and model (variant-major).

    Args:
        rows: the chunk's variants (``chr, pos, allele1, allele2, variant_id``).
        arrays: the stored chunk arrays.
        n_models: number of models.
        schema: the variant list's schema (``bed`` writes ``pos`` 0-based).
        sorted_peaks: per model, the peaks' sorted counts, or ``None``.
        nulls: per model, the sorted null columns, or ``None``.
        extra: further per-variant columns placed after ``variant_id`` (e.g. ``random_seed``).

    Returns:
        DataFrame ``chr, pos, allele1, allele2, variant_id, [extra], model`` and the score columns.
    """
    n = len(rows)
    per_model = [complete_columns(score_columns(arrays, model), None if sorted_peaks is None else sorted_peaks[model],
                                  None if nulls is None else nulls[model]) for model in range(n_models)]
    shown = shown_variants(rows, schema)
    table = {name: np.repeat(shown[name].to_numpy(), n_models) for name in VARIANT_COLUMNS}
    for name, value in (extra or {}).items():
        table[name] = np.repeat(np.asarray(value), n_models)
    table["model"] = np.tile(np.arange(n_models), n)
    for name in per_model[0]:
        table[name] = np.stack([columns[name] for columns in per_model], axis=1).reshape(-1)
    return pd.DataFrame(table)


__all__ = ["complete_columns", "long_table", "null_scores", "score_columns", "shown_variants", "sorted_peak_scores"]
