"""Evaluation metrics computed on predictions after the fact (numpy / scipy).

- :func:`profile_count_metrics`: ChromBPNet's count metrics (Spearman, Pearson, MSE of log-counts)
  and profile metrics (median Jensen-Shannon distance, raw and normalised), with per-region values.
- :func:`profile_count_metrics_by_subset`, :func:`chrombpnet_metrics_json`, :func:`write_metrics_json`:
  the same per peaks / nonpeaks / both, in the official ``metrics.json`` schema.
- :func:`pearson_r`, :func:`spearman_r`: correlation of two 1-D arrays, NaN for constant input.
- :func:`dream_score`: the Random Promoter DREAM Challenge's weighted Pearson r^2 and Spearman scores.
"""

import json

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import rankdata

__all__ = [
    "pearson_r",
    "spearman_r",
    "profile_jsd",
    "profile_count_metrics",
    "profile_count_metrics_by_subset",
    "chrombpnet_metrics_json",
    "write_metrics_json",
    "DREAM_SUBSET_WEIGHTS",
    "DREAM_PAIR_SUBSETS",
    "dream_score",
]

# ChromBPNet divides observed counts by (pseudocount + total) before the Jensen-Shannon distance.
PROFILE_PSEUDOCOUNT = 0.001
# Subset names of metrics.json, in the order the official predict.py writes them.
METRICS_JSON_SUBSETS = ("peaks_and_nonpeaks", "nonpeaks", "peaks")
COUNTS_METRIC_KEYS = ("spearmanr", "pearsonr", "mse")
PROFILE_METRIC_KEYS = ("median_jsd", "median_norm_jsd")


def _paired_1d(x, y):
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"cannot correlate arrays of different lengths ({x.size} and {y.size} values).")
    return x, y


def pearson_r(x, y):
    """Pearson correlation of two 1-D arrays.

    Args:
        x: An array (flattened).
        y: An array with as many values as ``x`` (flattened).

    Returns:
        The correlation (equal to ``scipy.stats.pearsonr(x, y)[0]``), or NaN when either input is
        constant, has fewer than two values or holds NaN.
    """
    x, y = _paired_1d(x, y)
    if x.size < 2:
        return float("nan")
    x_centred = x - x.mean()
    y_centred = y - y.mean()
    denominator = np.sqrt(np.sum(x_centred**2) * np.sum(y_centred**2))
    if not denominator > 0:
        return float("nan")
    return float(np.clip(np.sum(x_centred * y_centred) / denominator, -1.0, 1.0))


def spearman_r(x, y):
    """Spearman rank correlation of two 1-D arrays (ties get average ranks, as scipy's ``spearmanr``).

    Returns NaN when either input is constant, has fewer than two values or holds NaN.
    """
    x, y = _paired_1d(x, y)
    if np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    return pearson_r(rankdata(x), rankdata(y))


def profile_jsd(true_counts, profile_probs):
    """Per-region Jensen-Shannon distance between observed and predicted profiles, and its normalisation.

    Args:
        true_counts: Observed per-base counts, shape ``(regions, positions)``.
        profile_probs: Predicted per-base probabilities (softmax of the profile logits), same shape.

    Returns:
        ``(jsd, norm_jsd)``, two float arrays of shape ``(regions,)``: ``jsd`` is the Jensen-Shannon
        distance (natural log) between ``counts / (0.001 + total)`` and the prediction, NaN for regions
        without counts; ``norm_jsd`` is ``(max_jsd - jsd) / max_jsd`` clipped to [0, 1], where ``max_jsd``
        is the distance of the observed profile from the uniform profile: 1 is a perfect prediction, 0
        one no better than uniform (the official ``get_min_max_normalized_value`` with minimum 0), NaN
        where ``jsd`` is NaN.
    """
    true_counts = np.asarray(true_counts, dtype=np.float64)
    profile_probs = np.asarray(profile_probs, dtype=np.float64)
    if true_counts.ndim != 2 or true_counts.shape != profile_probs.shape:
        raise ValueError(
            f"true_counts {true_counts.shape} and profile_probs {profile_probs.shape} must both be "
            "(regions, positions)."
        )
    totals = np.nansum(true_counts, axis=1, keepdims=True)
    uniform = np.full(true_counts.shape[1], 1.0 / true_counts.shape[1])
    # All-zero regions divide 0 by 0: NaN is the official answer there, so silence the warning.
    with np.errstate(divide="ignore", invalid="ignore"):
        jsd = jensenshannon(true_counts / (PROFILE_PSEUDOCOUNT + totals), profile_probs, axis=1)
        max_jsd = jensenshannon(true_counts / totals, uniform[None, :], axis=1)
        # Written as the official (value - max) / (min - max) with min = 0, so that the IEEE results
        # for a perfectly uniform observed profile (max = 0) are the same as there.
        norm_jsd = np.clip((jsd - max_jsd) / (0.0 - max_jsd), 0.0, 1.0)
    return jsd, norm_jsd


def _softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def _nanmedian(values):
    if values.size == 0 or np.isnan(values).all():
        return float("nan")
    return float(np.nanmedian(values))


def _summarise(true_logcounts, pred_logcounts, jsd, norm_jsd):
    return {
        "spearmanr": spearman_r(true_logcounts, pred_logcounts),
        "pearsonr": pearson_r(true_logcounts, pred_logcounts),
        "mse": float(np.mean((true_logcounts - pred_logcounts) ** 2)) if true_logcounts.size else float("nan"),
        "median_jsd": _nanmedian(jsd),
        "median_norm_jsd": _nanmedian(norm_jsd),
        "jsd": jsd,
        "norm_jsd": norm_jsd,
    }


#: Regions scored at a time: every per-region number depends on its own row only, and the float64
#: temporaries of the Jensen-Shannon distance (several arrays the size of the profiles) stay small.
_ROWS_PER_CHUNK = 4096


def _profile_count_arrays(true_counts, profile_logits, pred_logcounts):
    true_counts = np.asarray(true_counts)
    profile_logits = np.asarray(profile_logits)
    pred_logcounts = np.asarray(pred_logcounts, dtype=np.float64).reshape(-1)
    if true_counts.ndim != 2 or profile_logits.shape != true_counts.shape:
        raise ValueError(
            f"true_counts {true_counts.shape} and profile_logits {profile_logits.shape} must both be "
            "(regions, positions)."
        )
    if pred_logcounts.shape[0] != true_counts.shape[0]:
        raise ValueError(
            f"pred_logcounts has {pred_logcounts.shape[0]} values for {true_counts.shape[0]} regions."
        )
    n = true_counts.shape[0]
    true_logcounts, jsd, norm_jsd = (np.empty(n, dtype=np.float64) for _ in range(3))
    for start in range(0, n, _ROWS_PER_CHUNK):
        part = slice(start, start + _ROWS_PER_CHUNK)
        counts = np.asarray(true_counts[part], dtype=np.float64)
        true_logcounts[part] = np.log1p(np.nansum(counts, axis=1))
        jsd[part], norm_jsd[part] = profile_jsd(counts, _softmax(profile_logits[part]))
    return true_logcounts, pred_logcounts, jsd, norm_jsd


def profile_count_metrics(true_counts, profile_logits, pred_logcounts):
    """ChromBPNet's evaluation metrics for one set of regions.

    Args:
        true_counts: Observed per-base counts, shape ``(regions, positions)``.
        profile_logits: Predicted profile logits, shape ``(regions, positions)``.
        pred_logcounts: Predicted log-counts, shape ``(regions,)`` or ``(regions, 1)``.

    Returns:
        ``spearmanr``, ``pearsonr``, ``mse``: predicted log-counts against ``log(1 + total counts)``;
        ``median_jsd``, ``median_norm_jsd``: medians over regions, NaN regions (no counts) ignored;
        ``jsd``, ``norm_jsd``: the per-region arrays, shape ``(regions,)`` (see :func:`profile_jsd`).
    """
    return _summarise(*_profile_count_arrays(true_counts, profile_logits, pred_logcounts))


def profile_count_metrics_by_subset(true_counts, profile_logits, pred_logcounts, is_peak):
    """:func:`profile_count_metrics` for peaks, nonpeaks and both, as the official ``predict.py``.

    Args:
        true_counts: As for :func:`profile_count_metrics`.
        profile_logits: As for :func:`profile_count_metrics`.
        pred_logcounts: As for :func:`profile_count_metrics`.
        is_peak: Boolean array, shape ``(regions,)``: True for peaks, False for nonpeaks.

    Returns:
        Subset name -> metrics dict. ``peaks`` and ``nonpeaks`` appear when the subset has regions;
        ``peaks_and_nonpeaks`` only when both do (the official pipeline writes it only when it was
        given both kinds).
    """
    true_logcounts, pred_logcounts, jsd, norm_jsd = _profile_count_arrays(
        true_counts, profile_logits, pred_logcounts
    )
    is_peak = np.asarray(is_peak).reshape(-1)
    if is_peak.shape[0] != true_logcounts.shape[0] or is_peak.dtype != bool:
        raise ValueError(
            f"is_peak must be a boolean array with one value per region ({true_logcounts.shape[0]}); "
            f"got dtype {is_peak.dtype} and {is_peak.shape[0]} values."
        )
    selections = {"peaks_and_nonpeaks": np.ones_like(is_peak), "nonpeaks": ~is_peak, "peaks": is_peak}
    if not (is_peak.any() and (~is_peak).any()):
        del selections["peaks_and_nonpeaks"]
    return {
        name: _summarise(true_logcounts[keep], pred_logcounts[keep], jsd[keep], norm_jsd[keep])
        for name, keep in selections.items()
        if keep.any()
    }


def chrombpnet_metrics_json(metrics_by_subset):
    """Arrange metrics in the official ChromBPNet ``metrics.json`` schema.

    Args:
        metrics_by_subset: Mapping of ``"peaks"``, ``"nonpeaks"`` and/or ``"peaks_and_nonpeaks"`` to dicts holding
            ``spearmanr``, ``pearsonr``, ``mse``, ``median_jsd`` and ``median_norm_jsd`` (other keys,
            such as the per-region arrays, are left out).

    Returns:
        ``{"counts_metrics": {subset: {"spearmanr", "pearsonr", "mse"}},
        "profile_metrics": {subset: {"median_jsd", "median_norm_jsd"}}}`` with plain floats, the
        subsets in the official order (peaks_and_nonpeaks, nonpeaks, peaks).
    """
    unknown = sorted(set(metrics_by_subset) - set(METRICS_JSON_SUBSETS))
    if unknown:
        raise ValueError(f"metrics.json has no subset named {unknown}; use {list(METRICS_JSON_SUBSETS)}.")
    document = {"counts_metrics": {}, "profile_metrics": {}}
    for subset in METRICS_JSON_SUBSETS:
        if subset not in metrics_by_subset:
            continue
        values = metrics_by_subset[subset]
        missing = [key for key in COUNTS_METRIC_KEYS + PROFILE_METRIC_KEYS if key not in values]
        if missing:
            raise ValueError(f"metrics for subset {subset!r} lack {missing}; compute them with profile_count_metrics.")
        document["counts_metrics"][subset] = {key: float(values[key]) for key in COUNTS_METRIC_KEYS}
        document["profile_metrics"][subset] = {key: float(values[key]) for key in PROFILE_METRIC_KEYS}
    return document


def write_metrics_json(path, metrics_by_subset):
    """Write ``metrics.json`` in the official schema (see :func:`chrombpnet_metrics_json`).

    The file is written under a temporary name in the same folder and renamed when complete, so a
    reader never sees a half-written file. NaN values are written as ``NaN``, as the official
    pipeline's ``json.dump`` does.

    Args:
        path: Output file path (its folder must exist).
        metrics_by_subset: As for :func:`chrombpnet_metrics_json`.

    Returns:
        The path written.
    """
    from data_prep.outputs import write_text_atomic

    return write_text_atomic(path, json.dumps(chrombpnet_metrics_json(metrics_by_subset), indent=4) + "\n")


DREAM_SUBSET_WEIGHTS = {
    "all": 1.0,
    "high": 0.3,
    "low": 0.3,
    "native": 0.3,
    "random": 0.3,
    "challenging": 0.5,
    "SNVs": 1.25,
    "motif_perturbation": 0.3,
    "motif_tiling": 0.4,
}
"""The Random Promoter DREAM Challenge 2022 test subsets and their weights in the final scores.

From de-Boer-Lab/random-promoter-dream-challenge-2022, ``prixfixe/evaluation.py``. ``native`` is the
original's ``yeast`` subset (native yeast promoters).
"""
DREAM_PAIR_SUBSETS = ("SNVs", "motif_perturbation", "motif_tiling")
"""Subsets scored on differences within sequence pairs rather than on the sequences themselves."""


def _subset_values(name, selection, predictions, measurements):
    selection = np.asarray(selection)
    n = predictions.shape[0]
    if name in DREAM_PAIR_SUBSETS:
        if selection.ndim != 2 or selection.shape[1] != 2:
            raise ValueError(
                f"DREAM subset {name!r} is scored on pair differences: give an (m, 2) array of "
                f"(first, second) sequence indices; got shape {selection.shape}."
            )
    elif selection.dtype == bool:
        if selection.shape != (n,):
            raise ValueError(f"DREAM subset {name!r}: a boolean mask needs {n} values; got shape {selection.shape}.")
        selection = np.flatnonzero(selection)
    elif selection.ndim != 1:
        raise ValueError(f"DREAM subset {name!r}: give a 1-D array of sequence indices; got shape {selection.shape}.")
    if selection.size and not np.issubdtype(selection.dtype, np.integer):
        raise ValueError(f"DREAM subset {name!r}: indices must be integers; got dtype {selection.dtype}.")
    outside = selection[(selection < 0) | (selection >= n)]
    if outside.size:
        raise ValueError(
            f"DREAM subset {name!r}: index {int(outside.flat[0])} is outside the {n} predictions "
            f"(valid indices are 0 to {n - 1})."
        )
    if name in DREAM_PAIR_SUBSETS:
        first, second = selection[:, 0], selection[:, 1]
        return predictions[second] - predictions[first], measurements[second] - measurements[first]
    return predictions[selection], measurements[selection]


def dream_score(predictions, measurements, subsets=None):
    """The Random Promoter DREAM Challenge 2022 scores: weighted Pearson r^2 and weighted Spearman.

    Each subset's Pearson r and Spearman rho between measured and predicted expression are combined
    with the published weights (``DREAM_SUBSET_WEIGHTS``: all 1, high 0.3, low 0.3, native 0.3,
    random 0.3, challenging 0.5, SNVs 1.25, motif_perturbation 0.3, motif_tiling 0.4)::

        pearson_score  = sum(w_s * r_s**2) / sum(w_s)
        spearman_score = sum(w_s * rho_s) / sum(w_s)

    With all nine subsets the divisor is 4.65, exactly as the challenge's ``evaluation.py``; when
    fewer subsets are given, the sum runs over those given, so a perfect model still scores 1.

    Args:
        predictions: 1-D array of predicted expression, one value per test sequence.
        measurements: 1-D array of measured expression, one value per test sequence.
        subsets: Mapping of subset name (a key of ``DREAM_SUBSET_WEIGHTS``) to its sequences:

            - ``all``, ``high``, ``low``, ``native``, ``random``, ``challenging``: a 1-D integer index
            array (or a boolean mask over the sequences);
            - ``SNVs``, ``motif_perturbation``, ``motif_tiling``: an ``(m, 2)`` integer array of index
            pairs ``(first, second)``; the differences ``x[second] - x[first]`` of predictions and of
            measurements are correlated (the sign convention does not change r or rho).

            ``all`` defaults to every sequence when absent; ``None`` scores ``all`` only.

    Returns:
        ``pearson_score``, ``spearman_score``, ``weight_sum`` (the divisor), and ``subsets``: name ->
        ``{"n", "weight", "pearson_r", "pearson_r2", "spearman_r"}`` (``n`` counts sequences or pairs).
        A subset whose correlation is undefined (constant values, fewer than two) has NaN there, and
        then the scores are NaN too, as in the original.
    """
    predictions, measurements = _paired_1d(predictions, measurements)
    subsets = dict(subsets or {})
    unknown = sorted(set(subsets) - set(DREAM_SUBSET_WEIGHTS))
    if unknown:
        raise ValueError(f"unknown DREAM subset(s) {unknown}; the subsets are {list(DREAM_SUBSET_WEIGHTS)}.")
    subsets.setdefault("all", np.arange(predictions.shape[0]))
    per_subset = {}
    for name in DREAM_SUBSET_WEIGHTS:
        if name not in subsets:
            continue
        predicted, measured = _subset_values(name, subsets[name], predictions, measurements)
        r = pearson_r(measured, predicted)
        rho = spearman_r(measured, predicted)
        per_subset[name] = {
            "n": int(predicted.shape[0]),
            "weight": DREAM_SUBSET_WEIGHTS[name],
            "pearson_r": r,
            "pearson_r2": r**2,
            "spearman_r": rho,
        }
    weight_sum = sum(entry["weight"] for entry in per_subset.values())
    return {
        "pearson_score": sum(e["weight"] * e["pearson_r2"] for e in per_subset.values()) / weight_sum,
        "spearman_score": sum(e["weight"] * e["spearman_r"] for e in per_subset.values()) / weight_sum,
        "weight_sum": weight_sum,
        "subsets": per_subset,
    }
