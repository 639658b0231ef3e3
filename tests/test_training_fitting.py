"""Resumable fitting: a run interrupted after an epoch and resumed ends where the uninterrupted run ends."""

import json

import keras
import numpy as np
import pytest

import data_prep
from data_prep.outputs import RunFolder, open_output
from data_prep.outputs.atomic import write_text_atomic
from dream_keras import build_model
from dream_keras.losses import chrombpnet_loss
from dream_keras.training.fitting import fit_resumable

INPUT, OUTPUT, JITTER = 256, 64, 16


@pytest.fixture(scope="module")
def windows(data_dir):
    atac = data_dir / "atac_mm10"
    peaks = data_prep.read_narrowpeak(atac / "peaks.narrowPeak")
    w = data_prep.extract_windows(peaks, atac / "genome.fa", atac / "tn5_insertions.bw", input_length=INPUT,
                                  output_length=OUTPUT, max_jitter=JITTER, progress=False)
    return w


def _model():
    keras.utils.set_random_seed(3)
    model = build_model("bpnet", filters=4, n_dil_layers=2, input_length=INPUT, output_length=OUTPUT)
    loss, weights = chrombpnet_loss(2.0)
    model.compile(keras.optimizers.Adam(1e-3), loss=loss, loss_weights=weights)
    return model


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            raise KeyboardInterrupt


def _data(windows):
    def train(first_epoch):
        return data_prep.training_dataset(windows, None, input_length=INPUT, output_length=OUTPUT,
                                          max_jitter=JITTER, batch_size=16, seed=5, first_epoch=first_epoch)
    valid = data_prep.validation_dataset(windows, None, input_length=INPUT, output_length=OUTPUT,
                                         max_jitter=JITTER, batch_size=16)
    return train, valid


@pytest.mark.slow  # trains or starts a second interpreter
def test_resumed_run_matches_uninterrupted_run(tmp_path, windows):
    train, valid = _data(windows)
    full = _model()
    result = fit_resumable(full, train, valid, epochs=4, patience=10, checkpoint_dir=tmp_path / "a", verbose=0)
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4]  # counted from 1, as printed
    assert result.best_epoch == int(np.argmin([row["val_loss"] for row in result.history]))

    cut = _model()
    with pytest.raises(KeyboardInterrupt):
        fit_resumable(cut, train, valid, epochs=4, patience=10, checkpoint_dir=tmp_path / "b",
                      callbacks=[_Interrupt(1)], verbose=0)
    # The interrupt hit after epoch 1's end callbacks ran in order: our callback first, so the
    # checkpoint still holds epoch 0 only.
    state = json.loads((tmp_path / "b" / "state.json").read_text())
    assert state["epoch"] == 0 and not state["finished"]

    resumed = _model()
    result_b = fit_resumable(resumed, train, valid, epochs=4, patience=10, checkpoint_dir=tmp_path / "b",
                             resume=True, verbose=0)
    assert result_b.resumed_from == 1
    assert [row["epoch"] for row in result_b.history] == [1, 2, 3, 4]
    np.testing.assert_allclose([r["val_loss"] for r in result_b.history], [r["val_loss"] for r in result.history],
                               rtol=1e-4)
    for a, b in zip(full.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_resuming_a_finished_run_says_so_and_trains_nothing(tmp_path, windows, capsys):
    train, valid = _data(windows)
    result = fit_resumable(_model(), train, valid, epochs=2, patience=10, checkpoint_dir=tmp_path / "d", verbose=0)
    capsys.readouterr()
    again = fit_resumable(_model(), train, valid, epochs=2, patience=10, checkpoint_dir=tmp_path / "d",
                          resume=True, verbose=0)
    printed = capsys.readouterr().out
    assert f"this run had finished (reached its 2 epochs; best epoch {result.best_epoch + 1})" in printed
    assert again.history == result.history and again.resumed_from == 2


@pytest.mark.slow  # trains or starts a second interpreter
def test_early_stopping_restores_best_weights(tmp_path, windows):
    train, valid = _data(windows)
    model = _model()
    model.optimizer.learning_rate.assign(0.5)  # diverges after a while: val loss stops improving
    result = fit_resumable(model, train, valid, epochs=8, patience=1, checkpoint_dir=tmp_path / "c", verbose=0)
    losses = [row["val_loss"] for row in result.history]
    best = int(np.nanargmin(losses))
    assert result.best_epoch == best
    if result.stopped_early:
        assert len(losses) == best + 2  # patience 1: one epoch without improvement
    got = model.evaluate(valid, verbose=0, return_dict=True)["loss"]
    assert got == pytest.approx(losses[best], rel=1e-4)


def test_run_folder_refuses_and_accepts(tmp_path):
    out = tmp_path / "run"
    needs = ("logs/run.json",)
    with open_output(out) as output:
        run = RunFolder.create(output.path)
        assert all((out / name).is_dir() for name in ("models", "logs", "evaluation"))
        write_text_atomic(run.models / "model.json", "{}")  # as the run writes it: listed in its manifest
    with pytest.raises(data_prep.InputError, match="not empty.*--overwrite"):
        with open_output(out):
            pass
    with pytest.raises(data_prep.InputError, match="nothing to resume"):
        with open_output(out, resume=True, resume_needs=needs):
            pass
    with open_output(out, overwrite=True) as output:
        RunFolder.create(output.path)
    assert not (out / "models" / "model.json").exists()
    (out / "my_thesis.tex").write_text("precious")
    with pytest.raises(data_prep.InputError, match="my_thesis.tex"):
        with open_output(out, overwrite=True):
            pass
    assert (out / "my_thesis.tex").read_text() == "precious"


def test_run_json_records_inputs(tmp_path, data_dir):
    run = RunFolder.create(tmp_path / "r")
    peaks = data_dir / "atac_mm10" / "peaks.narrowPeak"
    run.write_run_json("train", {"epochs": 3}, {"peaks": peaks})
    record = run.read_run_json()
    assert record["parameters"] == {"epochs": 3}
    assert record["inputs"]["peaks"]["size"] == peaks.stat().st_size
    import hashlib
    assert record["inputs"]["peaks"]["sha256"] == hashlib.sha256(peaks.read_bytes()).hexdigest()


def test_one_iterator_plays_the_same_epochs_as_fresh_iterations(windows):
    """Fit reads the training stream through one repeated iterator (steps_per_epoch = its batches).

    Each pass must be the next epoch exactly as a new iteration of the stream would give it.
    """
    from dream_keras.training.fitting import one_iterator

    def stream():
        return data_prep.training_dataset(windows, None, input_length=INPUT, output_length=OUTPUT, max_jitter=JITTER,
                                          batch_size=16, seed=5)

    fresh = stream()
    epochs = [[batch[0].numpy() for batch in fresh] for _ in range(3)]  # three fresh iterations
    repeated, steps = one_iterator(stream())
    assert steps == len(epochs[0]) == int(fresh.cardinality()) > 1
    played = [batch[0].numpy() for batch in repeated.take(3 * steps)]
    for epoch in range(3):
        for got, expected in zip(played[epoch * steps:(epoch + 1) * steps], epochs[epoch]):
            np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(epochs[0][0], epochs[1][0])  # the epochs differ (new jitter and order)
    # streams without a known, finite length are left to Keras as they are
    assert one_iterator(repeated)[1] is None and one_iterator(np.zeros(3))[1] is None


def test_training_log_counts_epochs_from_1_and_repeats_the_official_loss_names(tmp_path):
    """The training log CSV: ``epoch`` first and counted from 1, the official loss names beside ours.

    ``epoch`` is counted from 1 as on the console, the other columns sorted, the official ChromBPNet names
    beside ours (the console shows each loss once); a resumed log keeps the checkpoint's rows.
    """
    from dream_keras.tasks.atac.profile_count_fit import OFFICIAL_LOSS_NAMES
    from dream_keras.training.fitting import HISTORY_COUNTED_FROM_ONE, _history_from_state
    from dream_keras.training.training_log import TrainingLogCSV, read_training_log

    path = tmp_path / "training_log.csv"
    first = {"epoch": 1, "loss": 3.0, "profile_loss": 2.0, "logcounts_loss": 0.5, "val_loss": 4.0,
             "val_profile_loss": 3.0, "val_logcounts_loss": 0.5}
    log = TrainingLogCSV(path, history=[first], column_aliases=OFFICIAL_LOSS_NAMES)  # resumed after epoch 1
    log.on_epoch_end(1, {"loss": 2.5, "profile_loss": 1.5, "logcounts_loss": 0.5, "val_loss": 3.5,
                         "val_profile_loss": 2.5, "val_logcounts_loss": 0.5})
    header = path.read_text().splitlines()[0].split(",")
    assert header[0] == "epoch" and header[1:] == sorted(header[1:])
    rows = read_training_log(path)
    assert [row["epoch"] for row in rows] == [1, 2]
    for row in rows:
        for ours, official in OFFICIAL_LOSS_NAMES.items():
            assert row[official] == row[ours] and row["val_" + official] == row["val_" + ours]
    assert rows[1]["profile_loss"] == 1.5
    # a checkpoint written before the rows were counted from 1 is read in the same numbering
    old = {"epoch": 1, "history": [{"epoch": 0, "loss": 1.0}, {"epoch": 1, "loss": 0.5}]}
    assert [row["epoch"] for row in _history_from_state(old)] == [1, 2] and old[HISTORY_COUNTED_FROM_ONE]
    assert [row["epoch"] for row in _history_from_state(old)] == [1, 2]  # not shifted twice
