"""In-silico mutagenesis: every single-base substitution of each sequence, predicted in batches.

Mutants are described by flat index arrays (sequence, position, new base) taken from the one-hot
arrays with ``np.nonzero``, so no Python loop runs per mutant: a batch is one fancy-indexed gather
of the parent sequences and one scatter of the new bases. A background thread builds the next
batch while the model predicts the current one (TensorFlow releases the GIL while it computes), so
building mutants costs almost no wall time.

Each sequence's output is reduced to one number (:mod:`dream_keras.interpret.targets`); a mutant's
score is its number minus its parent's. Substitutions are made in the four base channels only;
flag channels (DREAM yeast's reverse/singleton flags) are kept. At an N position (all-zero row)
all four bases are substitutions.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from typing import Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from dream_keras.interpret.predict import check_sequences, output_dict, predict_outputs
from dream_keras.interpret.targets import resolve_output, scalar_target


@dataclasses.dataclass(frozen=True)
class IsmScores:
    """ISM of one output.

    Attributes:
        output: the output explained (see :mod:`dream_keras.interpret.targets`).
        scores: ``(n, length, 4)`` float32: the output of the sequence with base ``b`` at position
            ``p`` minus the output of the sequence itself (0 at the reference base, unless
            ``include_reference`` predicted it; NaN at positions left out by ``positions``).
        position_scores: ``(n, length)``: the mean of ``scores`` over the substituted bases (the three
            other bases; four at an N), the per-position ISM score of the DREAM paper.
        reference: ``(n,)`` the output of the unmutated sequences.
    """

    output: str
    scores: np.ndarray
    position_scores: np.ndarray
    reference: np.ndarray


@dataclasses.dataclass
class IsmTiming:
    """Where the time of one :func:`ism_outputs` call went (seconds).

    ``model_s``: inside ``model.predict_on_batch``; ``build_s``: building mutant batches (in the
    background thread, mostly overlapping the model); ``total_s``: wall time of the mutant loop;
    ``mutants``: mutants predicted.
    """

    model_s: float = 0.0
    build_s: float = 0.0
    total_s: float = 0.0
    mutants: int = 0


def substitution_mask(sequences: np.ndarray, include_reference: bool = False, positions=None) -> np.ndarray:
    """``(n, length, 4)`` bool.

    True where writing base ``b`` at position ``p`` makes a mutant (only at ``positions``, an index, slice or boolean
    mask of positions, when given).
    """
    bases = np.asarray(sequences)[..., :4]
    mask = np.ones(bases.shape, dtype=bool) if include_reference else bases == 0
    if positions is not None:
        chosen = np.zeros(bases.shape[1], dtype=bool)
        chosen[positions] = True
        mask &= chosen[None, :, None]
    return mask


def mutant_index_batches(mask: np.ndarray, batch_size: int, sequences_per_chunk: int = 16
                         ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(sequence, position, base)`` index arrays of ``batch_size`` mutants.

    Yield ``(sequence, position, base)`` index arrays of ``batch_size`` mutants (the last may be shorter),
    sequence-major, reading ``mask`` a few sequences at a time to bound memory.
    """
    pending = [np.zeros(0, dtype=np.int64)] * 3
    for start in range(0, len(mask), sequences_per_chunk):
        found = np.nonzero(mask[start:start + sequences_per_chunk])
        found = (found[0] + start, found[1], found[2])
        pending = [np.concatenate([old, new]) for old, new in zip(pending, found)]
        full = len(pending[0]) // batch_size * batch_size
        for offset in range(0, full, batch_size):
            yield tuple(part[offset:offset + batch_size] for part in pending)
        pending = [part[full:] for part in pending]
    if len(pending[0]):
        yield tuple(pending)


def build_mutants(sequences: np.ndarray, sequence_index: np.ndarray, position: np.ndarray,
                  base: np.ndarray) -> np.ndarray:
    """The mutants ``(m, length, channels)`` float32: each parent with one base substituted."""
    batch = sequences[sequence_index].astype(np.float32, copy=False)
    rows = np.arange(len(batch))
    batch[rows, position, :4] = 0.0
    batch[rows, position, base] = 1.0
    return batch


def ism_outputs(model, sequences: np.ndarray, outputs: Sequence[str] | None = None, *, batch_size: int = 256,
                include_reference: bool = False, positions=None, progress: bool = False,
                timing: IsmTiming | None = None) -> dict[str, IsmScores]:
    """ISM of several outputs at once (one model pass per mutant serves them all).

    Args:
        model: any Keras model with dict outputs.
        sequences: one-hot ``(n, length, channels)``, uint8 or float, as the model takes them.
        outputs: output names (see :mod:`~dream_keras.interpret.targets`); ``None``: the default one.
        batch_size: mutants per model call.
        include_reference: also predict the "substitution" of each base by itself (4 x length
            mutants per sequence instead of 3 x length); their scores are then measured rather than
            set to 0 (a check that predictions do not depend on the batch they are in).
        positions: mutate only these positions (an index array, slice or boolean mask over the
            length, e.g. ``slice(957, 1157)`` for the central 200 bp of a 2,114 bp window); scores
            elsewhere are NaN.
        progress: a tqdm bar over mutants.
        timing: if given, filled with the time spent in the model and in building mutants.

    Returns:
        ``{output: IsmScores}``.
    """
    sequences = check_sequences(model, sequences)
    names = [resolve_output(model, name) for name in (outputs or [None])]
    parents = predict_outputs(model, sequences, batch_size=batch_size)
    reference = {name: scalar_target(parents, name) for name in names}
    scores = {name: np.zeros((*sequences.shape[:2], 4), dtype=np.float32) for name in names}

    mask = substitution_mask(sequences, include_reference, positions)
    chunk = max(1, (4 * batch_size) // max(1, sequences.shape[1]))
    indices = mutant_index_batches(mask, batch_size, chunk)
    timing = timing if timing is not None else IsmTiming()

    def build_next():
        started = time.perf_counter()
        index = next(indices, None)
        batch = None if index is None else build_mutants(sequences, *index)
        timing.build_s += time.perf_counter() - started
        return index, batch

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as builder, \
            tqdm(total=int(mask.sum()), desc="ISM", unit="mutant", disable=not progress, leave=False) as bar:
        future = builder.submit(build_next)
        while True:
            index, batch = future.result()
            if index is None:
                break
            future = builder.submit(build_next)
            model_started = time.perf_counter()
            predicted = output_dict(model, model.predict_on_batch(batch))
            timing.model_s += time.perf_counter() - model_started
            for name in names:
                scores[name][index] = scalar_target(predicted, name) - reference[name][index[0]]
            timing.mutants += len(batch)
            bar.update(len(batch))
    timing.total_s += time.perf_counter() - started

    substituted = substitution_mask(sequences)
    if positions is not None:
        skipped = ~substitution_mask(sequences, True, positions)[..., 0]
        for name in names:
            scores[name][skipped] = np.nan
    results = {}
    for name in names:
        position_scores = (scores[name] * substituted).sum(axis=2) / substituted.sum(axis=2)
        results[name] = IsmScores(name, scores[name], position_scores.astype(np.float32),
                                  reference[name])
    return results


def ism(model, sequences: np.ndarray, output: str | None = None, *, batch_size: int = 256,
        include_reference: bool = False, positions=None, progress: bool = False) -> IsmScores:
    """In-silico mutagenesis of one output.

    Args:
        model: any Keras model with dict outputs (``SequenceModel``, a bias-factorised model, ...).
        sequences: one-hot ``(n, length, channels)`` (uint8 or float).
        output: ``"logcounts"`` / ``"counts"`` (the default for ``profile_count``), ``"profile"``
            (the softmax-weighted mean-normalised profile logits), ``"expression"`` (the default for
            ``soft_bins``), or a task name of a regression head.
        batch_size: mutants per model call.
        include_reference: also predict the unmutated base at each position (see :func:`ism_outputs`).
        positions: the positions to mutate (see :func:`ism_outputs`).
        progress: a tqdm bar.

    Returns:
        :class:`IsmScores` with ``scores`` ``(n, length, 4)`` and ``position_scores`` ``(n, length)``
        (mean over the three substitutions).
    """
    results = ism_outputs(model, sequences, [output] if output else None, batch_size=batch_size,
                          include_reference=include_reference, positions=positions, progress=progress)
    return next(iter(results.values()))
