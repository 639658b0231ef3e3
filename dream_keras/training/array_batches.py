"""Batches of in-memory arrays for Keras's ``fit`` and ``predict`` (training and prediction of tables)."""

from __future__ import annotations

import math

import keras
import numpy as np


class ArrayBatches(keras.utils.PyDataset):
    """Batches of ``(inputs, targets)`` (or inputs alone) from in-memory arrays, inputs cast to float32.

    Shuffled (training) batches draw a fresh permutation each epoch from ``(seed, epoch)``, so a run
    resumed at epoch e sees the same batches as an uninterrupted one, and every batch is full: the
    ``n % batch_size`` rows left over (different ones each epoch) wait for the next epoch. A short
    batch would be traced as a second training graph, and a batch of one row breaks BatchNorm.

    Args:
        inputs: ``(n, L, C)`` (any dtype; uint8 keeps large tables small).
        targets: output name -> ``(n, ...)`` array, or None for prediction (then a short last batch is
            zero-padded to ``batch_size`` rows: keep the first n predictions).
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: permute the rows every epoch and give full batches only (training).
        accumulate: with ``shuffle``, give whole groups of ``accumulate`` batches (one optimizer update
            each under gradient accumulation, the same rows as one batch ``accumulate`` times larger).
        seed: seed of the permutations.
        first_epoch: the epoch the first pass is (for resumed runs).
    """

    def __init__(self, inputs: np.ndarray, targets: dict | None = None, *, batch_size: int, shuffle: bool = False,
                 seed: int = 0, first_epoch: int = 0, accumulate: int = 1):
        super().__init__()
        self.inputs, self.targets, self.batch_size = inputs, targets, int(batch_size)
        self.shuffle, self.seed, self.epoch = shuffle, int(seed), int(first_epoch)
        self.accumulate = int(accumulate)
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        n = len(self.inputs)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    def __len__(self) -> int:
        if self.shuffle:  # whole updates only: accumulate batches each (the rows of one full-size batch)
            return max(1, len(self.inputs) // (self.batch_size * self.accumulate)) * self.accumulate
        return math.ceil(len(self.inputs) / self.batch_size)

    def __getitem__(self, index: int):
        rows = np.sort(self._order[index * self.batch_size:(index + 1) * self.batch_size])
        x = self.inputs[rows].astype(np.float32, copy=False)
        if self.targets is None:
            # Prediction: a short last batch is padded with zeros to the full size, so the prediction
            # function is traced for one shape only; callers keep the first n rows of the output.
            if len(rows) < self.batch_size and len(self.inputs) > self.batch_size:
                x = np.concatenate([x, np.zeros((self.batch_size - len(rows),) + x.shape[1:], x.dtype)])
            return x
        return x, {name: values[rows] for name, values in self.targets.items()}

    def on_epoch_end(self):
        """Count the epoch and draw the next epoch's row order."""
        self.epoch += 1
        self._order = self._permutation()


__all__ = ["ArrayBatches"]
