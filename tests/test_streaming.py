"""Streamed ATAC training data (``dream-keras train --stream``) on the real mouse fixture.

The streamed pipelines must give exactly the in-memory batches for a seed (two epochs and the
validation set), the bigWig totals pass must equal the totals of extracted windows, the
region-first loader must keep the same regions as the streamed one, and a tiny streamed run must
train the same losses as the in-memory run and write its models.
"""

import json

import numpy as np
import pandas as pd
import pytest

import data_prep
from data_prep.region_totals import region_totals, windows_fit
from data_prep.streaming import StreamedWindows, streaming_training_dataset, streaming_validation_dataset
from dream_keras.cli import main

# trains models end to end (minutes): outside the quick subset `pytest -m "not slow"`
pytestmark = pytest.mark.slow

INPUT, OUTPUT, JITTER = 512, 256, 32


def _fitting(regions: pd.DataFrame, atac, margin: int) -> pd.DataFrame:
    sizes = dict(line.split("\t") for line in (atac / "chrom.sizes").read_text().split("\n") if line)
    lengths = regions["chrom"].map({k: int(v) for k, v in sizes.items()}).to_numpy()
    fits = windows_fit(regions["summit"].to_numpy(), lengths, INPUT + 2 * margin, OUTPUT + 2 * margin)
    return regions[fits].reset_index(drop=True)


@pytest.fixture(scope="module")
def regions(atac):
    peaks = data_prep.read_regions(atac / "peaks.narrowPeak")
    # Background: the peaks moved 3 kb and 6 kb along the chromosome (real sequence and signal).
    nonpeaks = pd.concat([peaks.assign(start=peaks["start"] + shift, end=peaks["end"] + shift,
                                       summit=peaks["summit"] + shift) for shift in (3000, 6000)], ignore_index=True)
    return _fitting(peaks, atac, JITTER), _fitting(nonpeaks, atac, 0)


def _batches(dataset):
    return [(x.numpy(), y["profile"].numpy(), y["logcounts"].numpy()) for x, y in dataset]


def _assert_same(expected, got):
    assert len(expected) == len(got)
    for (x, profile, logcounts), (x2, profile2, logcounts2) in zip(expected, got):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(profile, profile2)
        np.testing.assert_array_equal(logcounts, logcounts2)


def test_streamed_batches_equal_in_memory_batches(atac, regions):
    peak_regions, nonpeak_regions = regions
    genome, bigwig = atac / "genome.fa", atac / "tn5_insertions.bw"
    peaks = data_prep.extract_windows(peak_regions, genome, bigwig, INPUT, OUTPUT, JITTER)
    nonpeaks = data_prep.extract_windows(nonpeak_regions, genome, bigwig, INPUT, OUTPUT)
    assert len(peaks.sequences) == len(peak_regions) > 50 and len(nonpeaks.sequences) == len(nonpeak_regions)
    options = dict(input_length=INPUT, output_length=OUTPUT, negative_ratio=0.5, batch_size=16, seed=3)
    in_memory = data_prep.training_dataset(peaks, nonpeaks, max_jitter=JITTER, first_epoch=1, **options)
    streamed = streaming_training_dataset(peak_regions, nonpeak_regions, genome=genome, bigwig=bigwig,
                                          max_jitter=JITTER, first_epoch=1, **options)
    for _ in range(2):  # epochs 1 and 2: new jitters, flips and nonpeak draws each time
        expected = _batches(in_memory)
        _assert_same(expected, _batches(streamed))
    flipped = np.concatenate([x for x, _, _ in expected])
    assert flipped.shape == (len(peaks.sequences) + int(0.5 * len(peaks.sequences)), INPUT, 4)

    valid = data_prep.validation_dataset(peaks, nonpeaks, max_jitter=JITTER, **options)
    streamed_valid = streaming_validation_dataset(peak_regions, nonpeak_regions, genome=genome, bigwig=bigwig,
                                                  **options)
    _assert_same(_batches(valid), _batches(streamed_valid))


def test_region_totals_equal_extracted_window_totals(atac, regions):
    from data_prep.atac.inputs import window_totals

    peak_regions, _ = regions
    windows = data_prep.extract_windows(peak_regions, atac / "genome.fa", atac / "tn5_insertions.bw", INPUT, OUTPUT,
                                        JITTER)
    totals = region_totals(peak_regions, atac / "tn5_insertions.bw", OUTPUT)
    np.testing.assert_array_equal(totals, window_totals(windows, OUTPUT))
    assert totals.max() > 100  # real signal, not an empty read

    streamed = StreamedWindows(peak_regions, atac / "genome.fa", atac / "tn5_insertions.bw", input_length=INPUT)
    centred = data_prep.crop_windows(windows, INPUT, OUTPUT).sequences
    np.testing.assert_array_equal(streamed.sequences[5:40], centred[5:40])


@pytest.fixture(scope="module")
def run_files(atac, regions, tmp_path_factory):
    """A nonpeak file and an untrained tiny bias model at the test lengths."""
    from bias_models.bias_data import build_bias_model

    work = tmp_path_factory.mktemp("streaming")
    _, nonpeaks = regions
    nonpeak_path = data_prep.write_narrowpeak(nonpeaks, work / "nonpeaks.narrowPeak")
    bias_path = work / "bias.keras"
    build_bias_model(INPUT, OUTPUT, filters=2, n_dil_layers=1).save(bias_path)
    return work, nonpeak_path, bias_path


def test_region_first_loader_keeps_the_streamed_regions(atac, run_files):
    from data_prep.atac.data import load_main_model_data
    from data_prep.atac.inputs import check_atac_inputs, resolve_folds, window_totals
    from data_prep.atac.streams import load_main_model_streams

    _, nonpeak_path, _ = run_files
    (fold,) = resolve_folds("0", atac / "folds")
    inputs = check_atac_inputs(genome=atac / "genome.fa", bigwig=atac / "tn5_insertions.bw",
                               peaks=atac / "peaks.narrowPeak", nonpeaks=nonpeak_path, fold=fold)
    options = dict(input_length=INPUT, output_length=OUTPUT, max_jitter=JITTER, negative_ratio=0.1,
                   outlier_quantile=0.99, seed=0)
    held, streamed = load_main_model_data(inputs, **options), load_main_model_streams(inputs, **options)
    assert held.report == streamed.report and held.counts_loss_weight == streamed.counts_loss_weight
    for name in ("train_peaks", "valid_peaks", "train_nonpeaks", "valid_nonpeaks"):
        pd.testing.assert_frame_equal(getattr(held, name).regions, getattr(streamed, name).regions)
    assert set(held.train_peaks.regions["split"]) == {"train"} and set(held.valid_peaks.regions["split"]) == {"valid"}
    # the 0.99 outlier filter dropped peaks, and the splits are views of one array per kind
    on_fold = held.report["peaks"]["on_fold"]
    assert len(held.train_peaks.sequences) + len(held.valid_peaks.sequences) < on_fold["train"] + on_fold["valid"]
    assert held.train_peaks.sequences.base is held.valid_peaks.sequences.base
    np.testing.assert_array_equal(held.scaling_totals, streamed.scaling_totals)
    # the scaling totals (bigWig pass) are the totals of the training nonpeaks' extracted windows
    key = ["chrom", "start", "summit"]
    scaling = held.scaling_nonpeaks.regions[key].assign(total=held.scaling_totals)
    training = held.train_nonpeaks.regions[key].assign(held=window_totals(held.train_nonpeaks, OUTPUT))
    joined = training.merge(scaling, on=key, how="left", validate="one_to_one")
    assert len(joined) > 20
    np.testing.assert_array_equal(joined["held"], joined["total"])
    assert len(held.test_peaks.sequences) == len(streamed.test_peaks.sequences) == held.report["peaks"]["kept"]["test"]


def _train(atac, run_files, out, *extra):
    work, nonpeak_path, bias_path = run_files
    assert main(["train", "--genome", str(atac / "genome.fa"), "--bigwig", str(atac / "tn5_insertions.bw"),
                 "--peaks", str(atac / "peaks.narrowPeak"), "--nonpeaks", str(nonpeak_path),
                 "--fold-dir", str(atac / "folds"), "--fold", "0", "--bias-model", str(bias_path),
                 "--out", str(work / out), "--input-length", str(INPUT), "--output-length", str(OUTPUT),
                 "--max-jitter", str(JITTER), "--batch-size", "32", "--filters", "4", "--n-dil-layers", "1",
                 "--epochs", "2", *extra]) == 0
    return work / out


def test_streamed_run_trains_like_the_in_memory_run(atac, run_files):
    import keras

    streamed = _train(atac, run_files, "streamed", "--stream")
    held = _train(atac, run_files, "held")
    record = json.loads((streamed / "logs" / "run.json").read_text())
    assert record["parameters"]["stream"] is True
    assert json.loads((held / "logs" / "run.json").read_text())["parameters"]["stream"] is False
    model = keras.saving.load_model(streamed / "models" / "model_nobias.keras", compile=False)
    assert model.inputs[0].shape[1] == INPUT
    log_streamed = pd.read_csv(streamed / "logs" / "training_log.csv")
    log_held = pd.read_csv(held / "logs" / "training_log.csv")
    assert len(log_streamed) == 2
    np.testing.assert_allclose(log_streamed[["loss", "val_loss"]].to_numpy(), log_held[["loss", "val_loss"]].to_numpy(),
                               rtol=1e-6)
    metrics = json.loads((streamed / "evaluation" / "metrics.json").read_text())
    assert metrics == json.loads((held / "evaluation" / "metrics.json").read_text())
