"""The ATAC tf.data pipelines: epoch plans, jitter, reverse complement, negative ratio, determinism."""

import contextlib

import numpy as np
import pandas as pd
import pyBigWig
import pyfaidx
import pytest

from data_prep import (
    InputError,
    Windows,
    crop_windows,
    extract_windows,
    one_hot_encode,
    read_narrowpeak,
    releasing_windows,
    sample_epoch,
    training_dataset,
    validation_dataset,
)
from data_prep.pipelines import validation_nonpeaks

IN, OUT, J = 2114, 1000, 500


@pytest.fixture(scope="module")
def peaks(atac):
    return extract_windows(read_narrowpeak(atac / "peaks.narrowPeak"), atac / "genome.fa",
                           atac / "tn5_insertions.bw", IN, OUT, J)


@pytest.fixture(scope="module")
def nonpeaks(atac):
    grid = pd.DataFrame({"chrom": ["chr17_seg3"] * 60 + ["chr17_seg4"] * 60,
                         "summit": np.r_[np.arange(60) * 3000 + 4000, np.arange(60) * 3000 + 5500]})
    return extract_windows(grid, atac / "genome.fa", atac / "tn5_insertions.bw", IN, OUT, 0)


@pytest.fixture(scope="module")
def direct(atac):
    """Independent reference: the example at ``summit + shift`` read straight from pyfaidx/pyBigWig."""
    genome = pyfaidx.Fasta(str(atac / "genome.fa"))
    bigwig = pyBigWig.open(str(atac / "tn5_insertions.bw"))

    def read(region, shift, flip):
        centre = int(region["summit"]) + int(shift)
        seq = one_hot_encode(str(genome[region["chrom"]][centre - IN // 2:centre + IN // 2]).upper()).astype(np.float32)
        counts = np.nan_to_num(bigwig.values(region["chrom"], centre - OUT // 2, centre + OUT // 2)).astype(np.float32)
        return (seq[::-1, ::-1], counts[::-1]) if flip else (seq, counts)

    return read


def collect(dataset):
    xs, profiles, logcounts = [], [], []
    for x, y in dataset:
        xs.append(x.numpy())
        profiles.append(y["profile"].numpy())
        logcounts.append(y["logcounts"].numpy())
    return np.concatenate(xs), np.concatenate(profiles), np.concatenate(logcounts)


def test_sample_epoch_plan():
    plan = sample_epoch(5000, 900, max_jitter=500, negative_ratio=0.1, epoch=0, seed=7)
    assert len(plan.nonpeak_indices) == 500 == len(set(plan.nonpeak_indices.tolist()))
    assert plan.nonpeak_indices.min() >= 0 and plan.nonpeak_indices.max() < 900
    assert plan.jitter.min() == 0 and plan.jitter.max() == 1000 and abs(plan.jitter.mean() - 500) < 15
    assert plan.reverse_complement.sum() == 5500 // 2
    assert sorted(plan.order.tolist()) == list(range(5500))
    again = sample_epoch(5000, 900, max_jitter=500, negative_ratio=0.1, epoch=0, seed=7)
    assert all(np.array_equal(getattr(plan, f), getattr(again, f))
               for f in ("nonpeak_indices", "jitter", "reverse_complement", "order"))
    other = sample_epoch(5000, 900, max_jitter=500, negative_ratio=0.1, epoch=1, seed=7)
    assert not np.array_equal(plan.order, other.order) and not np.array_equal(plan.jitter, other.jitter)
    assert sample_epoch(11, 5, max_jitter=0, negative_ratio=0.25, epoch=0, seed=0).n_examples == 11 + 2
    with pytest.raises(InputError, match="needs 100 nonpeaks per epoch, but only 99"):
        sample_epoch(1000, 99, max_jitter=0, negative_ratio=0.1, epoch=0, seed=0)


def check_epoch(dataset_arrays, plan, peaks, nonpeaks, direct):
    x, profile, logcounts = dataset_arrays
    n_peaks = len(peaks.regions)
    assert len(x) == n_peaks + int(0.1 * n_peaks) == plan.n_examples
    assert plan.reverse_complement.sum() == len(x) // 2
    flipped_differs = 0
    for position, example in enumerate(plan.order):
        flip = plan.reverse_complement[example]
        if example < n_peaks:
            region, shift = peaks.regions.iloc[example], plan.jitter[example] - J
            assert 0 <= plan.jitter[example] <= 2 * J
        else:
            region, shift = nonpeaks.regions.iloc[plan.nonpeak_indices[example - n_peaks]], 0
        seq, counts = direct(region, shift, flip)
        np.testing.assert_array_equal(x[position], seq)
        np.testing.assert_array_equal(profile[position], counts)
        flipped_differs += bool(flip) and not np.array_equal(seq, direct(region, shift, False)[0])
    assert flipped_differs == len(x) // 2  # every reverse-complemented example really is flipped
    np.testing.assert_allclose(logcounts[:, 0], np.log1p(profile.sum(axis=1)), rtol=1e-6)


def test_training_epochs_match_direct_reads(peaks, nonpeaks, direct):
    dataset = training_dataset(peaks, nonpeaks, input_length=IN, output_length=OUT, max_jitter=J,
                               negative_ratio=0.1, batch_size=16, seed=3)
    n_peaks, n_nonpeaks = len(peaks.regions), len(nonpeaks.regions)
    assert int(dataset.cardinality()) == int(np.ceil((n_peaks + int(0.1 * n_peaks)) / 16))
    epoch0, epoch1 = collect(dataset), collect(dataset)
    for number, arrays in enumerate([epoch0, epoch1]):
        plan = sample_epoch(n_peaks, n_nonpeaks, max_jitter=J, negative_ratio=0.1, epoch=number, seed=3)
        check_epoch(arrays, plan, peaks, nonpeaks, direct)
    assert not np.array_equal(epoch0[0], epoch1[0])
    same_seed = collect(training_dataset(peaks, nonpeaks, input_length=IN, output_length=OUT, max_jitter=J,
                                         negative_ratio=0.1, batch_size=16, seed=3))
    assert all(np.array_equal(a, b) for a, b in zip(epoch0, same_seed))


def test_validation_is_fixed_and_centred(peaks, nonpeaks):
    dataset = validation_dataset(peaks, nonpeaks, input_length=IN, output_length=OUT, max_jitter=J,
                                 negative_ratio=0.1, batch_size=32, seed=5)
    first, second = collect(dataset), collect(dataset)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    centred = crop_windows(peaks, IN, OUT)
    drawn = validation_nonpeaks(len(peaks.regions), len(nonpeaks.regions), 0.1, 5)
    assert len(drawn) == int(0.1 * len(peaks.regions))
    np.testing.assert_array_equal(first[0], np.concatenate([centred.sequences, nonpeaks.sequences[drawn]]))
    np.testing.assert_array_equal(first[1], np.concatenate([centred.counts, nonpeaks.counts[drawn]]))
    with pytest.raises(InputError, match="peaks hold a 500 bp margin but max_jitter is 0"):
        validation_dataset(peaks, nonpeaks, input_length=IN, output_length=OUT, max_jitter=0)


def test_bias_stage_uses_every_nonpeak(nonpeaks):
    x, profile, _ = collect(training_dataset(None, nonpeaks, input_length=IN, output_length=OUT, max_jitter=0,
                                             batch_size=50, seed=1))
    assert len(x) == len(nonpeaks.regions)
    forward = {nonpeaks.sequences[i].tobytes() for i in range(len(x))}
    as_uint8 = x.astype(np.uint8)
    n_forward = sum(as_uint8[i].tobytes() in forward for i in range(len(x)))
    assert n_forward == len(x) - len(x) // 2
    assert profile.sum() == pytest.approx(nonpeaks.counts.sum())


def test_pipeline_input_errors(peaks, nonpeaks):
    with pytest.raises(InputError, match="margin of 500 bp, less than max_jitter 600"):
        training_dataset(peaks, nonpeaks, input_length=IN, output_length=OUT, max_jitter=600)
    with pytest.raises(InputError, match="2.0 x 82 peaks needs 164 nonpeaks per epoch, but only 120"):
        training_dataset(peaks, nonpeaks, input_length=IN, output_length=OUT, max_jitter=J, negative_ratio=2.0)


def test_keras_fit_draws_a_new_plan_every_epoch(peaks, nonpeaks, monkeypatch):
    import keras

    import data_prep.pipelines as pipelines

    epochs_drawn = []

    def recording_sample_epoch(*args, **kwargs):
        epochs_drawn.append(kwargs["epoch"])
        return sample_epoch(*args, **kwargs)

    monkeypatch.setattr(pipelines, "sample_epoch", recording_sample_epoch)
    dataset = training_dataset(peaks, nonpeaks, input_length=IN, output_length=OUT, max_jitter=J, batch_size=32)
    sequence = keras.Input((IN, 4), name="sequence")
    pooled = keras.layers.GlobalAveragePooling1D()(sequence)
    model = keras.Model(sequence, {"profile": keras.layers.Dense(OUT, name="profile")(pooled),
                                   "logcounts": keras.layers.Dense(1, name="logcounts")(pooled)})
    model.compile("sgd", {"profile": "mse", "logcounts": "mse"})
    model.fit(dataset, epochs=3, verbose=0, shuffle=False)
    assert epochs_drawn == [0, 0, 1, 2]  # the check at construction, then one plan per fit epoch


def test_windows_without_counts_are_refused(atac, peaks):
    sequence_only = extract_windows(peaks.regions, atac / "genome.fa", None, IN, OUT, J)
    with pytest.raises(InputError, match="peaks were extracted without a bigWig"):
        training_dataset(sequence_only, None, input_length=IN, output_length=OUT, max_jitter=J)


def _own_copy(windows):
    return Windows(windows.sequences.copy(), windows.counts.copy(), windows.regions, windows.dropped)


@pytest.mark.parametrize("released", [True, False])
def test_releasing_windows_frees_the_arrays_tf_data_would_keep(peaks, nonpeaks, released):
    import gc
    import weakref

    own_peaks, own_nonpeaks = _own_copy(peaks), _own_copy(nonpeaks)
    alive = [weakref.ref(own_peaks.sequences), weakref.ref(own_nonpeaks.counts)]
    options = dict(input_length=IN, output_length=OUT, max_jitter=J, batch_size=32)
    scope = releasing_windows() if released else contextlib.nullcontext()
    with scope:
        train = training_dataset(own_peaks, own_nonpeaks, **options)
        valid = validation_dataset(own_peaks, own_nonpeaks, **options)
        n_train, n_valid = len(collect(train)[0]), len(collect(valid)[0])
    assert (n_train, n_valid) == (82 + 8, 82 + 8)
    if released:
        with pytest.raises(Exception, match="windows were released"):
            collect(train)
    del train, valid, own_peaks, own_nonpeaks
    gc.collect()
    # without the block TensorFlow's registry of generators keeps the windows for the life of the process
    assert [ref() is None for ref in alive] == [released, released]
