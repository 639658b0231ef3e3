"""The per-epoch sampling plan of ChromBPNet training (pure numpy, reproducible from seed and epoch)."""

from __future__ import annotations

import dataclasses

import numpy as np

from data_prep.errors import InputError


@dataclasses.dataclass(frozen=True)
class EpochPlan:
    """What one training epoch shows.

    Examples are numbered ``0 .. n_peaks - 1`` for the peaks, then ``n_peaks + k`` for the k-th
    drawn nonpeak (``nonpeak_indices[k]``).

    Attributes:
        epoch: the epoch number.
        nonpeak_indices: int64 ``(int(negative_ratio * n_peaks),)`` nonpeaks drawn without replacement.
        jitter: int64 ``(n_peaks,)`` crop offsets in ``[0, 2 * max_jitter]`` (``max_jitter`` = centred).
        reverse_complement: bool ``(n_examples,)``, exactly ``n_examples // 2`` True.
        order: int64 ``(n_examples,)`` the shuffled order of the examples.
    """

    epoch: int
    nonpeak_indices: np.ndarray
    jitter: np.ndarray
    reverse_complement: np.ndarray
    order: np.ndarray

    @property
    def n_examples(self) -> int:
        """Examples in the epoch."""
        return len(self.order)


def n_nonpeaks_per_epoch(n_peaks: int, negative_ratio: float) -> int:
    """How many nonpeaks an epoch draws: ``int(negative_ratio * n_peaks)`` (as the official code)."""
    return int(negative_ratio * n_peaks)


def sample_epoch(n_peaks: int, n_nonpeaks: int, *, max_jitter: int, negative_ratio: float, epoch: int,
                 seed: int) -> EpochPlan:
    """Draw the plan of one epoch; the same ``(seed, epoch)`` always gives the same plan.

    Raises :class:`InputError` when the epoch needs more nonpeaks than there are.
    """
    if max_jitter < 0 or negative_ratio < 0:
        raise InputError(f"max_jitter ({max_jitter}) and negative_ratio ({negative_ratio}) must be >= 0")
    n_drawn = n_nonpeaks_per_epoch(n_peaks, negative_ratio)
    if n_drawn > n_nonpeaks:
        raise InputError(f"negative_ratio {negative_ratio} x {n_peaks} peaks needs {n_drawn} nonpeaks per epoch, "
                         f"but only {n_nonpeaks} are loaded; lower the ratio or make more nonpeaks")
    rng = np.random.default_rng([int(seed), int(epoch)])
    nonpeak_indices = np.sort(rng.choice(n_nonpeaks, size=n_drawn, replace=False)).astype(np.int64)
    jitter = rng.integers(0, 2 * max_jitter, size=n_peaks, endpoint=True).astype(np.int64)
    n_examples = n_peaks + n_drawn
    reverse_complement = np.zeros(n_examples, dtype=bool)
    reverse_complement[rng.choice(n_examples, size=n_examples // 2, replace=False)] = True
    order = rng.permutation(n_examples).astype(np.int64)
    return EpochPlan(int(epoch), nonpeak_indices, jitter, reverse_complement, order)
