"""The ATAC training and validation pipelines read from the FASTA and bigWig batch by batch.

No window is held in memory: each batch's regions are read when the batch is built, by several
``tf.data`` map calls in parallel (``num_parallel_calls=AUTOTUNE``, deterministic order), and a
few batches are prefetched, so memory stays bounded whatever the number of peaks. pyfaidx and
pyBigWig handles are not thread-safe, so every thread opens its own pair.

The batches are exactly those of :func:`data_prep.training_dataset` and
:func:`data_prep.validation_dataset` on windows extracted from the same regions: the same epoch
plans (:func:`data_prep.epochs.sample_epoch`), the same crops (peaks at ``jitter`` in ``[0, 2J]``
from the left of a ``+/- J`` margin, nonpeaks centred) and the same reverse complements.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.genome import open_genome
from data_prep.onehot import lookup_table
from data_prep.pipelines import EpochSchedule, _check_lengths, training_sources, validation_examples, validation_sources
from data_prep.signal import open_signal, read_signal
from data_prep.windows import window_starts

#: Batches prepared ahead of the model: bounds memory at about this many batches (plus those in flight).
PREFETCH_BATCHES = 4


class _ThreadHandles(threading.local):
    """One open FASTA and bigWig per thread (the libraries' handles cannot be shared across threads)."""

    def __init__(self, genome: str, bigwig: str):
        self.fasta = open_genome(genome)
        self.bigwig = open_signal(bigwig)


class RegionReader:
    """Reads summit-centred windows of a region table from a FASTA and a bigWig, on any thread.

    Args:
        regions: DataFrame with ``chrom`` and ``summit`` (the windows must lie inside their chromosome).
        genome: file paths.
        bigwig: file paths.
        alphabet: one-hot channel order.
    """

    def __init__(self, regions: pd.DataFrame, genome, bigwig, *, alphabet: str = "ACGT"):
        self.regions = regions.reset_index(drop=True)
        self.chroms = self.regions["chrom"].to_numpy()
        self.summits = self.regions["summit"].to_numpy(dtype=np.int64)
        self.genome, self.bigwig = os.fspath(genome), os.fspath(bigwig)
        self.table = lookup_table(alphabet, np.uint8)
        self._handles = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.summits)

    def __getstate__(self):  # handles stay with the process that opened them
        state = dict(self.__dict__)
        state["_handles"], state["_lock"] = None, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def handles(self) -> _ThreadHandles:
        """This thread's open FASTA and bigWig handles (opened on first use)."""
        if self._handles is None:
            with self._lock:
                if self._handles is None:
                    self._handles = _ThreadHandles(self.genome, self.bigwig)
        return self._handles

    def sequence(self, row: int, start_shift: int, length: int) -> np.ndarray:
        """uint8 ``(length, 4)`` one-hot of ``[summit - length//2 + start_shift, ... + length)``."""
        lo = int(window_starts(self.summits[row], length)) + int(start_shift)
        text = str(self.handles.fasta[self.chroms[row]][lo:lo + length])
        if len(text) != length:
            raise InputError(f"region {self.chroms[row]}:{self.summits[row]} needs bases {lo}-{lo + length} of "
                             f"{self.genome}, which run off the chromosome; edge-filter the regions first")
        return self.table[np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)]

    def counts(self, row: int, start_shift: int, length: int) -> np.ndarray:
        """float32 ``(length,)`` bigWig values of the window, centred like :meth:`sequence`."""
        lo = int(window_starts(self.summits[row], length)) + int(start_shift)
        return read_signal(self.handles.bigwig, self.chroms[row], lo, lo + length)


class StreamedSequences:
    """Sequence-only view of a :class:`RegionReader`.

    ``len()`` and ``[a:b]`` slices read from the FASTA as uint8 ``(b - a, length, 4)``, so that prediction helpers that
    slice arrays batch by batch can read regions straight from disk.
    """

    def __init__(self, reader: RegionReader, length: int):
        self.reader, self.length = reader, int(length)

    def __len__(self) -> int:
        return len(self.reader)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(regions, length, 4)``, as an array of the windows would have."""
        return (len(self.reader), self.length, 4)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("StreamedSequences supports slices only (e.g. sequences[0:64])")
        rows = range(*index.indices(len(self.reader)))
        out = np.zeros((len(rows), self.length, 4), dtype=np.uint8)
        for i, row in enumerate(rows):
            out[i] = self.reader.sequence(row, 0, self.length)
        return out


class StreamedWindows:
    """Regions whose windows are read on demand (the streaming stand-in for :class:`data_prep.Windows`).

    ``sequences`` reads centred ``input_length`` sequences (for prediction); ``regions`` is the table.
    """

    def __init__(self, regions: pd.DataFrame, genome, bigwig, *, input_length: int, alphabet: str = "ACGT"):
        self.reader = RegionReader(regions, genome, bigwig, alphabet=alphabet)
        self.regions = self.reader.regions
        self.sequences = StreamedSequences(self.reader, input_length)

    def __len__(self) -> int:
        return len(self.reader)


class _StreamedExamples:
    """Builds one batch from the readers of the sources (0: peaks, 1: nonpeaks).

    ``shift`` moves each window's start from its centred position: peaks ``jitter - max_jitter``,
    nonpeaks 0 (as cropping windows held with a margin).
    """

    def __init__(self, sources: list[RegionReader], input_length: int, output_length: int):
        self.sources, self.input_length, self.output_length = sources, input_length, output_length

    def batch(self, source, rows, shifts, flip):
        size = len(rows)
        sequence = np.empty((size, self.input_length, 4), dtype=np.float32)
        profile = np.empty((size, self.output_length), dtype=np.float32)
        for i in range(size):
            reader = self.sources[source[i]]
            seq = reader.sequence(rows[i], shifts[i], self.input_length)
            counts = reader.counts(rows[i], shifts[i], self.output_length)
            if flip[i]:
                seq, counts = seq[::-1, ::-1], counts[::-1]
            sequence[i] = seq
            profile[i] = counts
        logcounts = np.log1p(profile.sum(axis=1, keepdims=True, dtype=np.float64)).astype(np.float32)
        return sequence, profile, logcounts


def _parallel_batches(examples: _StreamedExamples, first_batches, batch_index, n_batches: int,
                      input_length: int, output_length: int):
    """``first_batches`` (a dataset of one epoch key per iteration) -> the batches, read in parallel.

    ``batch_index(key, b) -> (source, rows, shifts, flip)`` says what batch ``b`` of epoch ``key`` holds.
    """
    import tensorflow as tf  # imported here so that data_prep itself does not need TensorFlow

    def read(key, number):
        return examples.batch(*batch_index(int(key), int(number)))

    def read_tensors(key, number):
        sequence, profile, logcounts = tf.numpy_function(read, [key, number], (tf.float32, tf.float32, tf.float32),
                                                         stateful=False)
        sequence.set_shape((None, input_length, 4))
        profile.set_shape((None, output_length))
        logcounts.set_shape((None, 1))
        return sequence, {"profile": profile, "logcounts": logcounts}

    batches = first_batches.flat_map(
        lambda key: tf.data.Dataset.range(n_batches).map(lambda number: (key, number)))
    batches = batches.map(read_tensors, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return batches.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(PREFETCH_BATCHES)


class StreamedEpochs(EpochSchedule):
    """The epochs of :class:`data_prep.pipelines.TrainingEpochs` (the same plans) over region readers.

    Every call of :meth:`epoch_keys` (a new iteration of the dataset) yields the next epoch number;
    the examples of an epoch are drawn on demand and the last two are cached (the map threads of one
    epoch share them).
    """

    def __init__(self, peaks: RegionReader | None, nonpeaks: RegionReader | None, *, input_length, output_length,
                 max_jitter, negative_ratio, batch_size, seed):
        _check_lengths(input_length, output_length, max_jitter, batch_size)
        peaks, nonpeaks, max_jitter, negative_ratio = training_sources(peaks, nonpeaks, max_jitter, negative_ratio)
        self.examples = _StreamedExamples([peaks] + ([nonpeaks] if nonpeaks is not None else []), input_length,
                                          output_length)
        super().__init__(len(peaks), len(nonpeaks) if nonpeaks is not None else 0, max_jitter=max_jitter,
                         negative_ratio=negative_ratio, batch_size=batch_size, seed=seed)
        self._plans: dict = {}
        self._lock = threading.Lock()
        self._arrays(0)  # fail now, not inside tf.data, if there are too few nonpeaks

    def _arrays(self, epoch: int):
        """(source, rows, shifts, flip) of every example of ``epoch``, in plan order."""
        with self._lock:
            if epoch not in self._plans:
                self._plans[epoch] = self.example_arrays(self.plan(epoch))
                for old in [e for e in self._plans if e < epoch - 1]:
                    del self._plans[old]
            return self._plans[epoch]

    def batch_index(self, epoch: int, number: int):
        """The arrays of batch ``number`` of ``epoch``."""
        part = slice(number * self.batch_size, (number + 1) * self.batch_size)
        return tuple(array[part] for array in self._arrays(epoch))

    def epoch_keys(self):
        """Generator of one epoch number per dataset iteration."""
        yield np.int64(self.start_epoch())


def streaming_training_dataset(peaks: pd.DataFrame | None, nonpeaks: pd.DataFrame | None, *, genome, bigwig,
                               input_length: int, output_length: int, max_jitter: int, negative_ratio: float = 0.1,
                               batch_size: int = 64, seed: int = 0, first_epoch: int = 0, alphabet: str = "ACGT"):
    """:func:`data_prep.training_dataset` read from ``genome`` and ``bigwig`` batch by batch.

    ``peaks`` and ``nonpeaks`` are region tables (``chrom``, ``summit``) whose windows, with a
    ``max_jitter`` margin for peaks, lie inside their chromosomes (edge-filtered). Every full
    iteration is one epoch (plans of epoch ``first_epoch``, ``first_epoch + 1``, ...), with the same
    batches as the in-memory pipeline on the windows of the same regions.
    """
    import tensorflow as tf

    readers = [RegionReader(r, genome, bigwig, alphabet=alphabet) if r is not None else None
               for r in (peaks, nonpeaks)]
    epochs = StreamedEpochs(*readers, input_length=input_length, output_length=output_length, max_jitter=max_jitter,
                            negative_ratio=negative_ratio, batch_size=batch_size, seed=seed)
    epochs.next_epoch = int(first_epoch)
    keys = tf.data.Dataset.from_generator(epochs.epoch_keys, output_signature=tf.TensorSpec((), tf.int64))
    return _parallel_batches(epochs.examples, keys, epochs.batch_index, epochs.n_batches, input_length, output_length)


def streaming_validation_dataset(peaks: pd.DataFrame | None, nonpeaks: pd.DataFrame | None, *, genome, bigwig,
                                 input_length: int, output_length: int, negative_ratio: float = 0.1,
                                 batch_size: int = 64, seed: int = 0, alphabet: str = "ACGT"):
    """:func:`data_prep.validation_dataset` read batch by batch.

    Every peak centred, then the fixed seeded sample of ``int(negative_ratio * n_peaks)`` nonpeaks; no jitter, no
    reverse complement.
    """
    import tensorflow as tf

    _check_lengths(input_length, output_length, 0, batch_size)
    peaks, nonpeaks = validation_sources(peaks, nonpeaks)
    sources = [RegionReader(r, genome, bigwig, alphabet=alphabet) for r in (peaks, nonpeaks) if r is not None]
    source, rows = validation_examples(len(sources[0]), len(sources[1]) if nonpeaks is not None else None,
                                       negative_ratio, seed)
    examples = _StreamedExamples(sources, input_length, output_length)
    shifts = np.zeros(len(rows), dtype=np.int64)
    flip = np.zeros(len(rows), dtype=bool)

    def batch_index(key, number):
        part = slice(number * batch_size, (number + 1) * batch_size)
        return source[part], rows[part], shifts[part], flip[part]

    n_batches = math.ceil(len(rows) / batch_size)
    return _parallel_batches(examples, tf.data.Dataset.from_tensors(np.int64(0)), batch_index, n_batches,
                             input_length, output_length)
