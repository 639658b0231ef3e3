"""One fold's main-model data read from the FASTA and bigWig batch by batch (``dream-keras train --stream``).

The same regions, thresholds, counts loss weight and batches as
:func:`~data_prep.atac.data.load_main_model_data` with the in-memory pipelines, but no
training window is held: the region tables and their totals come from
:func:`~data_prep.atac.regions.select_main_model_regions`, the training and validation
batches from :mod:`data_prep.streaming`, the bias model is rescaled on nonpeak sequences read
batch by batch, and the test windows are extracted only when the evaluation asks for them.
"""

from __future__ import annotations

import functools

import numpy as np

from data_prep import Windows, extract_windows
from data_prep.atac.inputs import AtacInputs
from data_prep.atac.regions import MainModelRegions, select_main_model_regions
from data_prep.streaming import StreamedWindows, streaming_training_dataset, streaming_validation_dataset


class StreamedMainModelData:
    """The attributes of :class:`~data_prep.atac.data.MainModelData`, streamed.

    ``train_peaks``, ``valid_peaks``, ``train_nonpeaks``, ``valid_nonpeaks`` and ``scaling_nonpeaks`` are
    :class:`data_prep.streaming.StreamedWindows` (``regions``; ``sequences`` read on demand);
    ``scaling_totals`` the float64 totals of ``scaling_nonpeaks``; ``test_peaks`` and ``test_nonpeaks``
    :class:`data_prep.Windows`, extracted at first use (after training).
    """

    def __init__(self, regions: MainModelRegions, inputs: AtacInputs, *, input_length: int, output_length: int,
                 progress: bool | None = None):
        self.inputs, self.input_length, self.output_length, self.progress = inputs, input_length, output_length, \
            progress

        def streamed(frame):
            return StreamedWindows(frame, inputs.genome, inputs.bigwig, input_length=input_length)

        self.train_peaks, self.valid_peaks = streamed(regions.train_peaks), streamed(regions.valid_peaks)
        self.train_nonpeaks, self.valid_nonpeaks = streamed(regions.train_nonpeaks), streamed(regions.valid_nonpeaks)
        self.scaling_nonpeaks = streamed(regions.scaling_nonpeaks)
        self.scaling_totals: np.ndarray = regions.scaling_totals
        self.counts_loss_weight, self.report = regions.counts_loss_weight, regions.report
        self._test_regions = (regions.test_peaks, regions.test_nonpeaks)

    def _extract(self, frame) -> Windows:
        return extract_windows(frame, self.inputs.genome, self.inputs.bigwig, self.input_length, self.output_length,
                               progress=self.progress)

    @functools.cached_property
    def test_peaks(self) -> Windows:
        """The test peaks' windows, read on first use."""
        return self._extract(self._test_regions[0])

    @functools.cached_property
    def test_nonpeaks(self) -> Windows:
        """The test nonpeaks' windows, read on first use."""
        return self._extract(self._test_regions[1])


def load_main_model_streams(inputs: AtacInputs, *, input_length: int, output_length: int, max_jitter: int,
                            negative_ratio: float, outlier_quantile: float, seed: int,
                            progress: bool | None = None) -> StreamedMainModelData:
    """:func:`~data_prep.atac.data.load_main_model_data` without holding windows."""
    regions = select_main_model_regions(inputs, input_length=input_length, output_length=output_length,
                                        max_jitter=max_jitter, negative_ratio=negative_ratio,
                                        outlier_quantile=outlier_quantile, seed=seed, progress=progress)
    return StreamedMainModelData(regions, inputs, input_length=input_length, output_length=output_length,
                                 progress=progress)


def streamed_datasets(data: StreamedMainModelData, params, global_batch_size: int):
    """The streamed training and validation datasets of the main model.

    Returns ``(train_data, valid_data)`` for :func:`~dream_keras.tasks.atac.profile_count_fit.fit_profile_count`:
    a callable ``first_epoch -> dataset`` and the validation dataset, read batch by batch in batches of
    ``global_batch_size`` (every replica's examples; ``params.batch_size`` is per replica).
    """
    files = dict(genome=data.inputs.genome, bigwig=data.inputs.bigwig, input_length=params.input_length,
                 output_length=params.output_length, negative_ratio=params.negative_ratio,
                 batch_size=global_batch_size, seed=params.seed)
    train_data = functools.partial(_training_dataset, data.train_peaks.regions, data.train_nonpeaks.regions,
                                   max_jitter=params.max_jitter, **files)
    valid_data = streaming_validation_dataset(data.valid_peaks.regions, data.valid_nonpeaks.regions, **files)
    return train_data, valid_data


def _training_dataset(peaks, nonpeaks, first_epoch, **options):
    return streaming_training_dataset(peaks, nonpeaks, first_epoch=first_epoch, **options)
