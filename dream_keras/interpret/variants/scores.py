"""The official variant scorer's score columns, by its names and definitions, from allele predictions.

Profile/count models (``a1``: allele1, the reference; ``a2``: allele2), with ``c`` the strand mean
of ``exp(logcounts)`` and ``P = softmax(l)`` of the strand-mean logits ``l``
(:mod:`.allele_predictions`):

- ``allele1_pred_counts``, ``allele2_pred_counts``: ``c1``, ``c2``.
- ``logfc = log2(c2 / c1)``; ``abs_logfc = |logfc|``. ``c`` is ``exp`` of a log-count, always
  positive, so ``logfc`` is always defined (it is the fold change of ``1 + reads``).
- ``original_jsd``: the Jensen-Shannon *distance*, base 2 (``scipy.spatial.distance.jensenshannon(P2,
  P1, base=2)``, :func:`jensen_shannon_distance`), between the two alleles' profile probabilities.
- ``jsd``: the same, indel-adjusted: for alleles of different lengths the profile positions that
  one allele has and the other lacks are removed before the distance (allele1's positions
  ``[F + len(a2), F + len(a1))`` and allele2's last ``len(a1) - len(a2)`` for a deletion, mirrored
  for an insertion, ``F`` = half the profile length), then both are renormalised. Equal to
  ``original_jsd`` for SNVs.
- ``logfc_x_jsd = logfc * jsd``; ``abs_logfc_x_jsd = abs_logfc * jsd``.

With peaks (``q`` = the strand-mean ``exp(logcounts)`` of the peaks, :mod:`.peak_scores`):

- ``allele1_quantile = max(mean(q < c1), 1 / len(q))``, ``allele2_quantile`` likewise;
- ``active_allele_quantile = max(allele1_quantile, allele2_quantile)``;
- ``quantile_change = allele2_quantile - allele1_quantile``, ``abs_quantile_change``;
- ``logfc_x_active_allele_quantile``, ``abs_logfc_x_active_allele_quantile``,
  ``jsd_x_active_allele_quantile``, ``logfc_x_jsd_x_active_allele_quantile``,
  ``abs_logfc_x_jsd_x_active_allele_quantile``: the products their names say.

Models with other single-value outputs ``o``: ``allele1_<o>``, ``allele2_<o>`` (strand means) and
``<o>_diff = allele2_<o> - allele1_<o>``.
"""

from __future__ import annotations

import numpy as np

#: the official score columns that get a p-value, with the tail the official scorer tests
PVALUE_TAILS = {
    "logfc": "both", "abs_logfc": "right", "jsd": "right", "logfc_x_jsd": "both", "abs_logfc_x_jsd": "right",
    "active_allele_quantile": "right", "quantile_change": "both", "abs_quantile_change": "right",
    "logfc_x_active_allele_quantile": "both", "abs_logfc_x_active_allele_quantile": "right",
    "jsd_x_active_allele_quantile": "right", "logfc_x_jsd_x_active_allele_quantile": "both",
    "abs_logfc_x_jsd_x_active_allele_quantile": "right",
}
#: the columns the official ``variant_summary_across_folds`` averages, in its order
SUMMARY_SCORES = (
    "logfc", "abs_logfc", "jsd", "logfc_x_jsd", "abs_logfc_x_jsd", "active_allele_quantile",
    "logfc_x_active_allele_quantile", "abs_logfc_x_active_allele_quantile", "jsd_x_active_allele_quantile",
    "logfc_x_jsd_x_active_allele_quantile", "abs_logfc_x_jsd_x_active_allele_quantile", "quantile_change",
    "abs_quantile_change",
)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (max-shifted: the official mean-shifted form overflows for large logits)."""
    logits = np.asarray(logits, dtype=np.float64)
    exponentials = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def jensen_shannon_distance(p: np.ndarray, q: np.ndarray, base: float = 2.0) -> np.ndarray:
    """Jensen-Shannon distance along the last axis, as ``scipy.spatial.distance.jensenshannon``.

    ``p`` and ``q`` normalised to sum 1, ``m = (p + q) / 2``, ``sqrt((KL(p||m) + KL(q||m)) / (2 ln base))``
    with ``0 log 0 = 0`` (written out here so that importing the package does not import SciPy).
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    divergence = (left.sum(axis=-1) + right.sum(axis=-1)) / np.log(base)
    return np.sqrt(np.maximum(divergence, 0.0) / 2)


def indel_adjusted_jsd(probabilities1: np.ndarray, probabilities2: np.ndarray, length1: int, length2: int) -> float:
    """The official indel adjustment of one variant's profile distance (module docstring)."""
    flank = len(probabilities1) // 2
    left1, left2 = probabilities1[:flank], probabilities2[:flank]
    shift = length1 - length2
    if shift > 0:   # deletion: allele1's deleted positions out, allele2's overhanging end out
        right1 = np.concatenate([probabilities1[flank:flank + length2], probabilities1[flank + length1:]])
        right2 = probabilities2[flank:len(probabilities2) - shift]
    else:           # insertion: the mirror image
        right1 = probabilities1[flank:len(probabilities1) + shift]
        right2 = np.concatenate([probabilities2[flank:flank + length1], probabilities2[flank + length2:]])
    adjusted1, adjusted2 = np.concatenate([left1, right1]), np.concatenate([left2, right2])
    return float(jensen_shannon_distance(adjusted1, adjusted2))


def quantiles(counts: np.ndarray, sorted_peak_counts: np.ndarray) -> np.ndarray:
    """``max(mean(peak_counts < c), 1 / n_peaks)`` for every ``c``."""
    n = len(sorted_peak_counts)
    below = np.searchsorted(sorted_peak_counts, counts, side="left") / n
    return np.maximum(below, 1.0 / n)


def profile_count_scores(predictions: dict[str, np.ndarray], allele1_lengths, allele2_lengths) -> dict[str, np.ndarray]:
    """The official columns that need no peaks, for one model (module docstring).

    Args:
        predictions: ``counts`` ``(2, n)`` and ``logits`` ``(2, n, output_length)`` (allele 1 first).
        allele1_lengths: ``(n,)`` lengths of allele 1 (0 for an empty allele).
        allele2_lengths: ``(n,)`` lengths of allele 2 (0 for an empty allele).

    Returns:
        ``{column: (n,) float64}`` in the official order.
    """
    counts1, counts2 = predictions["counts"]
    probabilities1, probabilities2 = softmax(predictions["logits"][0]), softmax(predictions["logits"][1])
    logfc = np.log2(counts2 / counts1)
    original_jsd = jensen_shannon_distance(probabilities2, probabilities1)
    jsd = original_jsd.copy()
    lengths1, lengths2 = np.asarray(allele1_lengths), np.asarray(allele2_lengths)
    for i in np.flatnonzero(lengths1 != lengths2):
        jsd[i] = indel_adjusted_jsd(probabilities1[i], probabilities2[i], int(lengths1[i]), int(lengths2[i]))
    return {"allele1_pred_counts": counts1, "allele2_pred_counts": counts2, "logfc": logfc,
            "abs_logfc": np.abs(logfc), "jsd": jsd, "original_jsd": original_jsd, "logfc_x_jsd": logfc * jsd,
            "abs_logfc_x_jsd": np.abs(logfc) * jsd}


def quantile_scores(columns: dict[str, np.ndarray], sorted_peak_counts: np.ndarray) -> dict[str, np.ndarray]:
    """The official ``--peaks`` columns.

    From :func:`profile_count_scores`' columns and the peaks' predicted counts, sorted (module docstring).
    """
    logfc, jsd = columns["logfc"], columns["jsd"]
    quantile1 = quantiles(columns["allele1_pred_counts"], sorted_peak_counts)
    quantile2 = quantiles(columns["allele2_pred_counts"], sorted_peak_counts)
    active = np.maximum(quantile1, quantile2)
    change = quantile2 - quantile1
    return {"allele1_quantile": quantile1, "allele2_quantile": quantile2, "active_allele_quantile": active,
            "quantile_change": change, "abs_quantile_change": np.abs(change),
            "logfc_x_active_allele_quantile": logfc * active,
            "abs_logfc_x_active_allele_quantile": np.abs(logfc) * active,
            "jsd_x_active_allele_quantile": jsd * active,
            "logfc_x_jsd_x_active_allele_quantile": logfc * jsd * active,
            "abs_logfc_x_jsd_x_active_allele_quantile": np.abs(logfc) * jsd * active}


def scalar_output_scores(predictions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``allele1_<o>``, ``allele2_<o>``, ``<o>_diff`` for every single-value output ``o``."""
    columns = {}
    for name, (value1, value2) in predictions.items():
        columns.update({f"allele1_{name}": value1, f"allele2_{name}": value2, f"{name}_diff": value2 - value1})
    return columns


def pvalue_tails(columns) -> dict[str, str]:
    """``{score column: tail}`` of the columns that get a p-value (official ones, and ``<o>_diff`` two-sided)."""
    tails = {name: tail for name, tail in PVALUE_TAILS.items() if name in columns}
    tails.update({name: "both" for name in columns if name.endswith("_diff")})
    return tails


def empirical_pvalues(observed: np.ndarray, sorted_null: np.ndarray, tail: str) -> np.ndarray:
    """The official ``get_pvals``: ``(rank + 1) / (n_null + 1)`` against the shuffled scores.

    ``right``: rank = null scores >= observed; ``left``: null scores <= observed; ``both``: twice
    the smaller of the two, which can exceed 1 (by at most ``1 / (n_null + 1)``, for a score at
    the null median); :func:`capped_pvalues` caps it.
    """
    n = len(sorted_null)
    right = (n - np.searchsorted(sorted_null, observed, side="left") + 1) / (n + 1)
    if tail == "right":
        return right
    left = (np.searchsorted(sorted_null, observed, side="right") + 1) / (n + 1)
    if tail == "left":
        return left
    return 2 * np.minimum(left, right)


def capped_pvalues(pvalues: np.ndarray) -> np.ndarray:
    """A two-sided p-value as a probability: ``min(1, p)``."""
    return np.minimum(pvalues, 1.0)


def pvalue_columns(columns: dict[str, np.ndarray], sorted_nulls: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The p-value columns of the scores.

    ``<score>.pval`` for every score with a null (official tails), and ``<score>.pval_capped`` beside each
    two-sided one (the official ``.pval`` kept as defined).
    """
    out = {}
    for name, tail in pvalue_tails(columns).items():
        if name not in sorted_nulls:
            continue
        out[f"{name}.pval"] = empirical_pvalues(columns[name], sorted_nulls[name], tail)
        if tail == "both":
            out[f"{name}.pval_capped"] = capped_pvalues(out[f"{name}.pval"])
    return out


__all__ = ["PVALUE_TAILS", "SUMMARY_SCORES", "capped_pvalues", "empirical_pvalues", "indel_adjusted_jsd",
           "jensen_shannon_distance", "profile_count_scores", "pvalue_columns", "pvalue_tails", "quantile_scores",
           "quantiles", "scalar_output_scores", "softmax"]
