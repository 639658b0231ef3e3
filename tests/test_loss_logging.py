"""The logged loss is the optimised loss: ``loss = profile_loss + w * logcounts_loss`` in every epoch.

Keras 3 weighs its per-output loss trackers by the static batch size, unknown over a ``tf.data``
pipeline, so a short last batch counted like a full one and the parts did not add up to the total
(quickstart epoch 0: ``loss`` 350.1 against 495). These tests train on uneven batches whose examples
differ a lot (the short batch holds the largest counts) and check the identity and the values
against a numpy recomputation over all examples, then the same from a ``dream-keras train`` CSV.
"""

import json
import re

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from dream_keras import build_model
from dream_keras.losses import chrombpnet_loss, logcount_mse, multinomial_nll
from dream_keras.tasks.atac.profile_count_fit import compile_profile_count
from dream_keras.training.seeding import seed_everything
from dream_keras.training.weighted_loss_training import WeightedLossTraining

INPUT, OUTPUT, WEIGHT = 256, 64, 3.0


def _examples(n=21, seed=0):
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype="float32")[rng.integers(0, 4, (n, INPUT))]
    scale = np.where(np.arange(n) >= 16, 40.0, 1.0)  # the short last batch (16..20) holds the big counts
    counts = rng.poisson(scale[:, None] * rng.uniform(0.2, 1.0, (n, OUTPUT))).astype("float32")
    return x, {"profile": counts, "logcounts": np.log1p(counts.sum(axis=1))[:, None]}


def _dataset(x, y, batch_size=8):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)  # batch dimension None: 8, 8, 5


def _tiny():
    return build_model("bpnet", filters=4, n_dil_layers=1, input_length=INPUT, output_length=OUTPUT)


def _expected(model, x, y):
    """Per-example means over all examples (what an epoch log must show)."""
    predicted = model.predict(x, batch_size=len(x), verbose=0)
    profile = float(multinomial_nll(y["profile"], predicted["profile"]))
    counts = float(logcount_mse(y["profile"], predicted["logcounts"]))
    return profile, counts


def test_evaluate_logs_example_means_that_add_up():
    seed_everything(0)
    model = _tiny()
    trainer = compile_profile_count(model, counts_loss_weight=WEIGHT, learning_rate=1e-3)
    x, y = _examples()
    logs = trainer.evaluate(_dataset(x, y), verbose=0, return_dict=True)
    profile, counts = _expected(model, x, y)
    assert logs["profile_loss"] == pytest.approx(profile, rel=1e-5)
    assert logs["logcounts_loss"] == pytest.approx(counts, rel=1e-5)
    assert logs["loss"] == pytest.approx(profile + WEIGHT * counts, rel=1e-5)
    # each loss once, under one name: the console's epoch line repeats nothing (the official names are
    # the training log's, added when the CSV is written)
    assert sorted(logs) == ["logcounts_loss", "loss", "profile_loss"]
    # Keras's own per-output trackers count the 5-example batch like a full one: the parts exceed the total.
    plain = _tiny()
    plain.set_weights(model.get_weights())
    loss, loss_weights = chrombpnet_loss(WEIGHT)
    plain.compile(optimizer="adam", loss=loss, loss_weights=loss_weights)
    keras_logs = plain.evaluate(_dataset(x, y), verbose=0, return_dict=True)
    assert keras_logs["loss"] == pytest.approx(logs["loss"], rel=1e-5)
    assert keras_logs["profile_loss"] + WEIGHT * keras_logs["logcounts_loss"] > 1.1 * keras_logs["loss"]


def test_fit_history_adds_up_every_epoch_and_trains_the_network():
    seed_everything(1)
    model = _tiny()
    before = [w.copy() for w in model.get_weights()]
    trainer = compile_profile_count(model, counts_loss_weight=WEIGHT, learning_rate=1e-2)
    x, y = _examples(seed=1)
    history = trainer.fit(_dataset(x, y), validation_data=_dataset(x, y, 6), epochs=3, verbose=0).history
    for prefix in ("", "val_"):
        total = np.array(history[prefix + "loss"])
        parts = np.array(history[prefix + "profile_loss"]) + WEIGHT * np.array(history[prefix + "logcounts_loss"])
        np.testing.assert_allclose(total, parts, rtol=1e-5)
    assert max(np.abs(a - b).max() for a, b in zip(before, model.get_weights())) > 1e-3
    # the last validation pass ran on the final weights: its values are the example means there
    profile, counts = _expected(model, x, y)
    assert history["val_profile_loss"][-1] == pytest.approx(profile, rel=1e-4)
    assert history["val_logcounts_loss"][-1] == pytest.approx(counts, rel=1e-4)


def test_losses_for_outputs_the_network_lacks_are_refused():
    loss, weights = chrombpnet_loss(1.0)
    with pytest.raises(ValueError, match="does not have"):
        WeightedLossTraining(_tiny(), {**loss, "bins": keras.losses.MeanSquaredError()}, weights)


@pytest.mark.slow  # trains end to end (kept out of the quick subset)
def test_train_csv_loss_is_profile_plus_weighted_counts(bias_run, main_run):
    """The session's tiny runs log the loss they optimise.

    The runs are trained through the command line, and print one plain line per epoch with each loss in it
    once.
    """
    # the console (a file here, as under a redirection): one plain line per epoch, each loss in it once
    for run in (bias_run, main_run):
        printed = (run.parent / f"{run.name}.console.txt").read_text()
        epoch_lines = [line for line in printed.splitlines() if " - loss: " in line]
        parameters = json.loads((run / "logs" / "run.json").read_text())["parameters"]
        assert len(epoch_lines) == parameters["epochs"] and "\r" not in printed and "\x1b" not in printed
        for line in epoch_lines:
            names = re.findall(r"(\w+): [-\d.]+", line)
            assert sorted(names) == sorted(["logcounts_loss", "loss", "profile_loss", "val_logcounts_loss", "val_loss",
                                            "val_profile_loss"]), line
    for run in (bias_run, main_run):
        log = pd.read_csv(run / "logs" / "training_log.csv")
        parameters = json.loads((run / "logs" / "run.json").read_text())["parameters"]
        weight = parameters["counts_loss_weight"]
        assert len(log) == parameters["epochs"] >= 1
        assert log["epoch"].tolist() == list(range(1, len(log) + 1))  # counted from 1, as the console counts them
        for prefix in ("", "val_"):
            parts = log[prefix + "profile_loss"] + weight * log[prefix + "logcounts_loss"]
            np.testing.assert_allclose(log[prefix + "loss"], parts, rtol=1e-4)
            np.testing.assert_array_equal(log[prefix + "logits_profile_predictions_loss"], log[prefix + "profile_loss"])
            np.testing.assert_array_equal(log[prefix + "logcount_predictions_loss"], log[prefix + "logcounts_loss"])
