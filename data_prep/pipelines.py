"""The ATAC training and validation pipelines as ``tf.data`` datasets.

Batches are cut in numpy from the windows held in memory (uint8 sequences, float32 counts; no
full copies) by a Python generator; ``prefetch`` overlaps that with training. Each element is
``(sequence float32 (b, input_length, 4), {"profile": float32 (b, output_length),
"logcounts": float32 (b, 1)})`` with ``logcounts = log(1 + profile.sum())``.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from data_prep.epochs import EpochPlan, n_nonpeaks_per_epoch, sample_epoch
from data_prep.errors import InputError
from data_prep.windows import Windows


def _margin(windows: Windows, input_length: int, output_length: int, what: str) -> int:
    """Bases held on each side beyond the centred model window (the same for sequence and counts)."""
    if windows.counts is None:
        raise InputError(f"{what} were extracted without a bigWig (counts is None); training and validation "
                         "need counts: pass the bigWig to extract_windows")
    seq_extra = windows.sequences.shape[1] - input_length
    count_extra = windows.counts.shape[1] - output_length
    if seq_extra < 0 or count_extra != seq_extra or seq_extra % 2:
        raise InputError(f"{what} hold {windows.sequences.shape[1]} bp sequences and {windows.counts.shape[1]} bp "
                         f"counts, which do not centre-crop to input_length {input_length} and output_length "
                         f"{output_length} with the same margin; extract them with these lengths")
    return seq_extra // 2


class _Examples:
    """Where each example of a batch comes from: the peak and nonpeak windows, and crop offsets."""

    def __init__(self, peaks: Windows, nonpeaks: Windows | None, input_length: int, output_length: int):
        self.sources = [peaks] + ([nonpeaks] if nonpeaks is not None else [])
        self.input_length, self.output_length = input_length, output_length

    def batch(self, source: np.ndarray, rows: np.ndarray, offsets: np.ndarray, flip: np.ndarray):
        """Build one batch: ``source[i]`` (0 peaks, 1 nonpeaks), row, crop offset, reverse complement."""
        size = len(rows)
        sequence = np.empty((size, self.input_length, 4), dtype=np.float32)
        profile = np.empty((size, self.output_length), dtype=np.float32)
        for i in range(size):
            windows = self.sources[source[i]]
            start = offsets[i]
            seq = windows.sequences[rows[i], start:start + self.input_length]
            counts = windows.counts[rows[i], start:start + self.output_length]
            if flip[i]:
                seq, counts = seq[::-1, ::-1], counts[::-1]
            sequence[i] = seq
            profile[i] = counts
        logcounts = np.log1p(profile.sum(axis=1, keepdims=True, dtype=np.float64)).astype(np.float32)
        return sequence, {"profile": profile, "logcounts": logcounts}


def _check_lengths(input_length, output_length, max_jitter, batch_size):
    if min(input_length, output_length, batch_size) <= 0 or max_jitter < 0:
        raise InputError(f"input_length ({input_length}), output_length ({output_length}) and batch_size "
                         f"({batch_size}) must be positive, max_jitter ({max_jitter}) at least 0")


def training_sources(peaks, nonpeaks, max_jitter: int, negative_ratio: float):
    """``(peaks, nonpeaks, max_jitter, negative_ratio)`` as a training epoch uses them.

    ``peaks=None`` trains on every nonpeak without jitter (the bias-model stage), ``nonpeaks=None`` on peaks only.
    """
    if peaks is None:
        if nonpeaks is None:
            raise InputError("training needs peaks, nonpeaks or both")
        return nonpeaks, None, 0, 0.0
    return peaks, nonpeaks, max_jitter, negative_ratio if nonpeaks is not None else 0.0


def validation_sources(peaks, nonpeaks):
    """``(peaks, nonpeaks)`` for validation: ``peaks=None`` validates on all nonpeaks (bias stage)."""
    if peaks is None:
        if nonpeaks is None:
            raise InputError("validation needs peaks, nonpeaks or both")
        return nonpeaks, None
    return peaks, nonpeaks


def validation_examples(n_peaks: int, n_nonpeaks: int | None, negative_ratio: float, seed: int):
    """``(source, rows)`` of the validation examples.

    Every peak (source 0), then the fixed nonpeak sample of :func:`validation_nonpeaks` (source 1; none when
    ``n_nonpeaks`` is ``None``).
    """
    drawn = validation_nonpeaks(n_peaks, n_nonpeaks, negative_ratio, seed) if n_nonpeaks is not None \
        else np.zeros(0, dtype=np.int64)
    source = np.concatenate([np.zeros(n_peaks, np.int64), np.ones(len(drawn), np.int64)])
    return source, np.concatenate([np.arange(n_peaks), drawn])


class EpochSchedule:
    """What every training epoch reads, whatever holds the windows (memory or files).

    Its plan (:func:`sample_epoch` with epoch 0, 1, 2, ...) turned into per-example arrays.

    ``next_epoch`` is the epoch the next iteration plays (a resumed run sets it).
    """

    def __init__(self, n_peaks: int, n_nonpeaks: int, *, max_jitter: int, negative_ratio: float, batch_size: int,
                 seed: int):
        self.n_peaks, self.n_nonpeaks = n_peaks, n_nonpeaks
        self.max_jitter, self.negative_ratio = max_jitter, negative_ratio
        self.batch_size, self.seed = batch_size, seed
        self.next_epoch = 0

    @property
    def n_examples(self) -> int:
        """Examples per epoch: every peak and the epoch's nonpeak draw."""
        return self.n_peaks + n_nonpeaks_per_epoch(self.n_peaks, self.negative_ratio)

    @property
    def n_batches(self) -> int:
        """Batches per epoch (the last may be short)."""
        return math.ceil(self.n_examples / self.batch_size)

    def plan(self, epoch: int) -> EpochPlan:
        """The :class:`EpochPlan` of ``epoch`` (counted from 0)."""
        return sample_epoch(self.n_peaks, self.n_nonpeaks, max_jitter=self.max_jitter,
                            negative_ratio=self.negative_ratio, epoch=epoch, seed=self.seed)

    def start_epoch(self) -> int:
        """The epoch a new iteration plays; the one after it comes next."""
        epoch, self.next_epoch = self.next_epoch, self.next_epoch + 1
        return epoch

    def example_arrays(self, plan: EpochPlan):
        """``(source, rows, shifts, flip)`` of every example in ``plan.order``: source 0 peaks, 1 nonpeaks.

        ``shifts`` moves the window from its centred position (peaks ``jitter - max_jitter``, nonpeaks 0); ``flip``:
        reverse complement.
        """
        is_nonpeak = plan.order >= self.n_peaks
        rows = plan.order.copy()
        rows[is_nonpeak] = plan.nonpeak_indices[plan.order[is_nonpeak] - self.n_peaks]
        shifts = np.zeros(len(rows), dtype=np.int64)
        shifts[~is_nonpeak] = plan.jitter[plan.order[~is_nonpeak]] - self.max_jitter
        return is_nonpeak.astype(np.int64), rows, shifts, plan.reverse_complement[plan.order]


class TrainingEpochs(EpochSchedule):
    """Generator factory over windows held in memory: every call starts the next epoch.

    Peaks are cropped at ``margin - max_jitter + plan.jitter`` (``margin``: bases held on each side);
    nonpeaks are centre-cropped. Sources as :func:`training_sources`.
    """

    def __init__(self, peaks, nonpeaks, *, input_length, output_length, max_jitter, negative_ratio, batch_size,
                 seed):
        _check_lengths(input_length, output_length, max_jitter, batch_size)
        peaks, nonpeaks, max_jitter, negative_ratio = training_sources(peaks, nonpeaks, max_jitter, negative_ratio)
        self.peak_margin = _margin(peaks, input_length, output_length, "peaks")
        if self.peak_margin < max_jitter:
            raise InputError(f"peaks were extracted with a margin of {self.peak_margin} bp, less than max_jitter "
                             f"{max_jitter}; extract them with max_jitter={max_jitter}")
        self.nonpeak_margin = _margin(nonpeaks, input_length, output_length, "nonpeaks") if nonpeaks is not None else 0
        self.examples = _Examples(peaks, nonpeaks, input_length, output_length)
        super().__init__(len(peaks.sequences), len(nonpeaks.sequences) if nonpeaks is not None else 0,
                         max_jitter=max_jitter, negative_ratio=negative_ratio, batch_size=batch_size, seed=seed)
        self.plan(0)  # fail now, not inside tf.data, if there are too few nonpeaks

    def __call__(self):
        """The batches of the next epoch."""
        return self.batches(self.plan(self.start_epoch()))

    def batches(self, plan: EpochPlan):
        """Yield the batches of one epoch in ``plan.order``."""
        source, rows, shifts, flip = self.example_arrays(plan)
        offsets = shifts + np.where(source == 0, self.peak_margin, self.nonpeak_margin)
        for first in range(0, len(rows), self.batch_size):
            part = slice(first, first + self.batch_size)
            yield self.examples.batch(source[part], rows[part], offsets[part], flip[part])


#: the source lists of the open :func:`releasing_windows` blocks, innermost last
_RELEASE_SCOPES: list[list["_Source"]] = []


class _Source:
    """The Python generator behind a dataset, with a way to let go of the windows it reads.

    TensorFlow keeps the generator of every ``from_generator`` dataset alive for the rest of the
    process (its Python-function registry outlives the dataset), and with it every array the
    generator refers to. :meth:`release` drops that reference; the dataset then fails if used again.
    """

    def __init__(self, generator):
        self._generator = generator

    def __call__(self):
        if self._generator is None:
            raise RuntimeError("this dataset's windows were released at the end of its releasing_windows() block; "
                               "build a new dataset to read them again")
        return self._generator()

    def release(self) -> None:
        self._generator = None


@contextlib.contextmanager
def releasing_windows():
    """A block whose datasets let go of their windows when it ends.

    Datasets built by :func:`training_dataset` and :func:`validation_dataset` inside this block let go of their windows
    when it ends, so that the arrays can be freed once the caller drops them.

    Without it the windows stay in memory until the process exits, however the datasets are
    deleted (see :class:`_Source`)::

        with data_prep.releasing_windows():
            model.fit(data_prep.training_dataset(peaks, nonpeaks, ...), ...)
        del peaks, nonpeaks  # now really freed
    """
    sources: list[_Source] = []
    _RELEASE_SCOPES.append(sources)
    try:
        yield
    finally:
        _RELEASE_SCOPES.remove(sources)
        for source in sources:
            source.release()


def _dataset(generator, n_batches: int, input_length: int, output_length: int):
    import tensorflow as tf  # imported here so that data_prep itself does not need TensorFlow

    generator = _Source(generator)
    for scope in _RELEASE_SCOPES:
        scope.append(generator)

    signature = (tf.TensorSpec((None, input_length, 4), tf.float32),
                 {"profile": tf.TensorSpec((None, output_length), tf.float32),
                  "logcounts": tf.TensorSpec((None, 1), tf.float32)})
    dataset = tf.data.Dataset.from_generator(generator, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(tf.data.AUTOTUNE)


def training_dataset(peaks: Windows | None, nonpeaks: Windows | None, *, input_length: int, output_length: int,
                     max_jitter: int, negative_ratio: float = 0.1, batch_size: int = 64, seed: int = 0,
                     first_epoch: int = 0):
    """The ChromBPNet training stream as a ``tf.data.Dataset``.

    Every full iteration is one epoch with a new plan (:func:`sample_epoch` with epoch 0, 1, 2, ...):
    each peak cropped at a uniform random offset in ``[0, 2*max_jitter]`` (sequence and counts
    together), ``int(negative_ratio * n_peaks)`` nonpeaks drawn without replacement, exactly half
    of the examples reverse-complemented (sequence flipped on both axes, profile reversed), all
    shuffled. The same seed gives the same sequence of epochs.

    Args:
        peaks: windows held with a margin of at least ``max_jitter`` (``input_length + 2J`` sequence,
            ``output_length + 2J`` counts), or ``None`` (bias stage: all nonpeaks every epoch).
        nonpeaks: windows held at ``input_length``/``output_length`` (or with any margin: centre-cropped),
            or ``None``.
        input_length: model input width (bp).
        output_length: model output width (bp).
        max_jitter: the largest shift of a peak window either way (bp).
        negative_ratio: nonpeaks drawn per peak each epoch.
        batch_size: examples per batch.
        seed: seed of every epoch's draw, jitter and reverse-complement choice.
        first_epoch: the epoch the first iteration plays (a resumed run continues the same epochs).
    """
    epochs = TrainingEpochs(peaks, nonpeaks, input_length=input_length, output_length=output_length,
                            max_jitter=max_jitter, negative_ratio=negative_ratio, batch_size=batch_size, seed=seed)
    epochs.next_epoch = int(first_epoch)
    return _dataset(epochs, epochs.n_batches, input_length, output_length)


def validation_nonpeaks(n_peaks: int, n_nonpeaks: int, negative_ratio: float, seed: int) -> np.ndarray:
    """The fixed, sorted nonpeak sample of validation: ``int(negative_ratio * n_peaks)`` drawn with ``seed``."""
    n_drawn = n_nonpeaks_per_epoch(n_peaks, negative_ratio)
    if n_drawn > n_nonpeaks:
        raise InputError(f"validation needs {n_drawn} nonpeaks (negative_ratio {negative_ratio} x {n_peaks} peaks) "
                         f"but only {n_nonpeaks} are loaded")
    return np.sort(np.random.default_rng(int(seed)).choice(n_nonpeaks, size=n_drawn, replace=False))


def validation_dataset(peaks: Windows | None, nonpeaks: Windows | None, *, input_length: int, output_length: int,
                       max_jitter: int = 0, negative_ratio: float = 0.1, batch_size: int = 64, seed: int = 0):
    """Validation stream.

    Every peak (centre crop, no jitter, no reverse complement), then a fixed seeded sample of ``int(negative_ratio *
    n_peaks)`` nonpeaks; the same batches on every iteration. ``max_jitter`` is the margin the peaks were loaded with
    (checked against their shape). ``peaks=None`` validates on all nonpeaks (bias stage).
    """
    _check_lengths(input_length, output_length, max_jitter, batch_size)
    peaks, nonpeaks = validation_sources(peaks, nonpeaks)
    peak_margin = _margin(peaks, input_length, output_length, "peaks")
    if peak_margin != max_jitter:
        raise InputError(f"peaks hold a {peak_margin} bp margin but max_jitter is {max_jitter}; pass the "
                         "max_jitter the peaks were extracted with")
    nonpeak_margin = _margin(nonpeaks, input_length, output_length, "nonpeaks") if nonpeaks is not None else 0
    source, rows = validation_examples(len(peaks.sequences), len(nonpeaks.sequences) if nonpeaks is not None else None,
                                       negative_ratio, seed)
    examples = _Examples(peaks, nonpeaks, input_length, output_length)
    offsets = np.where(source == 0, peak_margin, nonpeak_margin)
    flip = np.zeros(len(rows), dtype=bool)

    def batches():
        for first in range(0, len(rows), batch_size):
            part = slice(first, first + batch_size)
            yield examples.batch(source[part], rows[part], offsets[part], flip[part])

    return _dataset(batches, math.ceil(len(rows) / batch_size), input_length, output_length)
