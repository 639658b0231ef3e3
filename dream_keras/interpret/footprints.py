"""Marginal footprints: a motif inserted at the centre of background sequences, predicted profile.

What is computed (after ChromBPNet's ``marginal_footprinting.py``, re-implemented here): the motif's
consensus is written over the centre of every background sequence (it starts at
``length // 2 - len(motif) // 2``); the model predicts each sequence and its reverse complement;
each prediction becomes expected counts per position, ``softmax(profile) * (exp(logcounts) - 1)``;
the reverse-complement prediction is reversed back onto forward coordinates; forward and reverse
are averaged, then sequences are averaged.

How the official QC uses it: per sequence it adds the forward and flipped reverse footprints and
divides by their sum over positions, so each sequence's footprint is a probability over the
``output_length`` positions (uniform = ``1 / output_length``, 0.001 for 1,000 positions); the mean
over sequences is the footprint, and its maximum, rounded to 3 decimals, is the "max bias
response" of each motif whose name contains ``tn5`` or ``dnase``. For a bias-free model (the
bias-factorised model without its bias part) these rounded maxima must all be below 0.003 (three
times uniform) for it to count as bias-"corrected"; any one at or above marks it "uncorrected"
(``<prefix>_max_bias_response.txt``). Because the rounding comes first, a maximum passes only when
it is below 0.0025. :attr:`Footprint.normalized_profile` and
:attr:`Footprint.normalized_max` are exactly that quantity; :attr:`Footprint.profile` is the
count-scaled footprint (predicted insertions per position), and ``baseline_*`` are the same for
the backgrounds without the motif (the official "control" motif), so callers may also compare
``profile`` with ``baseline_profile``.

Only ``model.predict_on_batch`` and the ``profile`` / ``logcounts`` outputs are used, so any model
with those outputs works (``SequenceModel``, a bias-factorised model, a plain Keras model).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data_prep.errors import InputError
from data_prep.motifs import Motif
from data_prep.onehot import one_hot_encode, reverse_complement
from dream_keras.interpret.motif_sequences import motif_consensus
from dream_keras.interpret.predict import predict_outputs

BIAS_RESPONSE_THRESHOLD = 0.003
"""ChromBPNet's bias QC threshold on :attr:`Footprint.normalized_max` of the Tn5 / DNase motifs.

Compared after rounding to 3 decimals: ``round(normalized_max, 3) < 0.003``.
"""


@dataclasses.dataclass(frozen=True)
class Footprint:
    """The marginal footprint of one motif.

    Attributes:
        name: the motif's name (the consensus when none was given).
        motif: the inserted sequence.
        profile: ``(output_length,)`` (``(output_length, tasks)`` for multi-task heads) mean predicted
            counts per position, ``softmax(profile) * (exp(logcounts) - 1)``, forward and reverse
            complement averaged, then averaged over sequences.
        max: ``profile.max()``.
        baseline_profile: ``profile`` of the backgrounds without the motif.
        normalized_profile: the official footprint: per sequence, forward + flipped reverse
            counts divided by their sum over positions, then averaged over sequences (sums to 1).
        normalized_max: ``normalized_profile.max()``; ChromBPNet's bias QC wants it below
            :data:`BIAS_RESPONSE_THRESHOLD` (0.003) for every Tn5 / DNase motif.
        baseline_normalized_profile: ``normalized_profile`` without the motif.
        counts, baseline_counts: mean predicted total counts, ``exp(logcounts) - 1`` (forward and
            reverse averaged), with and without the motif.
        n_sequences: background sequences averaged.
    """

    name: str
    motif: str
    profile: np.ndarray
    max: float
    baseline_profile: np.ndarray
    normalized_profile: np.ndarray
    normalized_max: float
    baseline_normalized_profile: np.ndarray
    counts: float
    baseline_counts: float
    n_sequences: int


@dataclasses.dataclass(frozen=True)
class _Response:
    """Mean responses of a set of sequences (see :class:`Footprint`)."""

    profile: np.ndarray
    normalized_profile: np.ndarray
    counts: float


def _expected_counts(outputs: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per-position expected counts ``(n, positions, tasks)`` and totals ``(n, tasks)``."""
    if "profile" not in outputs or "logcounts" not in outputs:
        raise InputError(f"marginal footprints need a model with 'profile' and 'logcounts' outputs "
                         f"(a profile_count head); this model gives {sorted(outputs)}")
    logcounts = np.asarray(outputs["logcounts"], dtype=np.float64).reshape(len(outputs["logcounts"]), -1)
    tasks = logcounts.shape[1]
    logits = np.asarray(outputs["profile"], dtype=np.float64).reshape(len(logcounts), -1, tasks)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    totals = np.expm1(logcounts)
    return probabilities * totals[:, None, :], totals


#: Sequences whose predictions are held at a time: the float64 profiles of all test nonpeaks at
#: once would take several times the memory of their one-hot sequences.
_SEQUENCES_PER_CHUNK = 4096


def _response(model, sequences: np.ndarray, batch_size: int, alphabet: str, progress: bool,
              motif: str | None = None) -> _Response:
    """Mean responses of ``sequences``, predicted and averaged chunk by chunk.

    Mean responses of ``sequences`` (with ``motif`` written over their centres when given), predicted and averaged chunk
    by chunk.
    """
    profile_sum = normalized_sum = None
    totals_sum = 0.0
    for start in range(0, len(sequences), _SEQUENCES_PER_CHUNK):
        chunk = sequences[start:start + _SEQUENCES_PER_CHUNK]
        if motif is not None:
            chunk = insert_motif(chunk, motif, alphabet)
        forward, forward_totals = _expected_counts(
            predict_outputs(model, chunk, batch_size=batch_size, progress=progress, desc="footprint (+)"))
        reverse, reverse_totals = _expected_counts(
            predict_outputs(model, chunk, batch_size=batch_size, progress=progress, desc="footprint (-)",
                            transform=lambda batch: reverse_complement(batch, alphabet)))
        reverse = reverse[:, ::-1]  # back onto forward coordinates
        both = forward + reverse
        normalized = both / both.sum(axis=1, keepdims=True)
        profile_sum = both.sum(axis=0) if profile_sum is None else profile_sum + both.sum(axis=0)
        normalized_sum = normalized.sum(axis=0) if normalized_sum is None else normalized_sum + normalized.sum(axis=0)
        totals_sum += float((forward_totals + reverse_totals).sum())
    n = len(sequences)
    squeeze = (lambda a: a[..., 0]) if profile_sum.shape[-1] == 1 else (lambda a: a)
    return _Response(profile=squeeze(profile_sum / n / 2), normalized_profile=squeeze(normalized_sum / n),
                     counts=totals_sum / n / 2)


def insert_motif(background_sequences: np.ndarray, motif: str | Motif, alphabet: str = "ACGT") -> np.ndarray:
    """A copy of ``background_sequences`` with ``motif`` written over the centre.

    A copy of ``background_sequences`` ``(n, L, 4)`` with ``motif`` written over the centre (positions ``L // 2 - len //
    2`` onwards, as the official code; N writes all zeros).
    """
    consensus = motif_consensus(motif)
    length = background_sequences.shape[1]
    if len(consensus) > length:
        raise InputError(f"motif {consensus} ({len(consensus)} bp) is longer than the {length} bp sequences")
    start = length // 2 - len(consensus) // 2
    inserted = np.array(background_sequences, copy=True)
    inserted[:, start:start + len(consensus), :4] = one_hot_encode(consensus, alphabet, dtype=inserted.dtype)
    return inserted


def _check_background(background_sequences) -> np.ndarray:
    background = np.asarray(background_sequences)
    if background.ndim != 3 or background.shape[0] == 0 or background.shape[2] < 4:
        raise InputError(f"background sequences must be one-hot (n >= 1, length, 4); got shape {background.shape}")
    return background


def _footprint(name: str, consensus: str, response: _Response, baseline: _Response, n: int) -> Footprint:
    return Footprint(name=name, motif=consensus, profile=response.profile, max=float(response.profile.max()),
                     baseline_profile=baseline.profile, normalized_profile=response.normalized_profile,
                     normalized_max=float(response.normalized_profile.max()),
                     baseline_normalized_profile=baseline.normalized_profile, counts=response.counts,
                     baseline_counts=baseline.counts, n_sequences=n)


def marginal_footprints(model, background_sequences: np.ndarray, motifs: dict, *, batch_size: int = 64,
                        alphabet: str = "ACGT", progress: bool = False) -> dict[str, Footprint]:
    """:func:`marginal_footprint` of several motifs, predicting the backgrounds' baseline once.

    Args:
        model: a model with ``profile`` and ``logcounts`` outputs.
        background_sequences: one-hot ``(n, L, 4)``, uint8 or float, in ``alphabet`` channel order.
        motifs: ``{name: consensus string or data_prep Motif}``.
        batch_size: sequences per model call.
        alphabet: channel order of the backgrounds and of the model's input.
        progress: tqdm bars over motifs and batches.

    Returns:
        ``{name: Footprint}`` in the order of ``motifs``.
    """
    from tqdm.auto import tqdm

    background = _check_background(background_sequences)
    baseline = _response(model, background, batch_size, alphabet, progress=False)
    footprints = {}
    for name, motif in tqdm(list(motifs.items()), desc="footprints", unit="motif", disable=not progress):
        consensus = motif_consensus(motif)
        response = _response(model, background, batch_size, alphabet, progress=False, motif=consensus)
        footprints[name] = _footprint(str(name), consensus, response, baseline, len(background))
    return footprints


def marginal_footprint(model, background_sequences: np.ndarray, motif: str | Motif, *, batch_size: int = 64,
                       alphabet: str = "ACGT") -> Footprint:
    """The marginal footprint of ``motif`` on ``background_sequences`` (see the module docstring).

    Args:
        model: a model with ``profile`` ``(b, output_length)`` logits and ``logcounts`` ``(b, 1)``
            outputs (``SequenceModel`` with ``profile_count``, a bias-factorised model, ...).
        background_sequences: one-hot ``(n, L, 4)``, uint8 or float, ``L`` the model's input length.
        motif: a consensus string (A/C/G/T/N) or a :class:`data_prep.Motif` (its consensus is used).
        batch_size: sequences per model call.
        alphabet: channel order of the backgrounds and the model's input.

    Returns:
        :class:`Footprint`: ``profile`` / ``max`` (count-scaled), ``baseline_profile``, and the
        official sum-to-one ``normalized_profile`` / ``normalized_max`` (QC threshold 0.003).
    """
    name = motif.name if isinstance(motif, Motif) else motif_consensus(motif)
    return marginal_footprints(model, background_sequences, {name: motif}, batch_size=batch_size,
                               alphabet=alphabet)[name]
