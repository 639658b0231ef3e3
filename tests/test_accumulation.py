"""--accumulate N: N steps of batch/N rows make the same update as one step of the recipe's batch."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dream_keras.training.array_batches import ArrayBatches
from dream_keras.training.recipes import RECIPES, table_losses

ROWS, LENGTH = 2 * 1024 + 100, 40  # two full updates of 1,024 and a remainder that no update uses


def _tiny_model():
    """Conv1D, a Bi-LSTM and a soft-bin softmax.

    No BatchNorm and no dropout, the case in which accumulation is exact (both draw on the step's rows: see ``Recipe``'s
    docstring).
    """
    sequence = keras.Input((LENGTH, 6))
    x = keras.layers.Conv1D(8, 5, activation="relu")(sequence)
    x = keras.layers.Bidirectional(keras.layers.LSTM(4))(x)
    bins = keras.layers.Dense(18, activation="softmax", name="bins")(x)
    return keras.Model(sequence, {"bins": bins})


def _table(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((ROWS, LENGTH, 6)).astype("float32")
    bins = rng.dirichlet(np.ones(18), size=ROWS).astype("float32")
    return x, {"bins": bins}


def _train_one_epoch(recipe, x, targets):
    keras.utils.set_random_seed(3)
    model = _tiny_model()
    updates = ROWS // recipe.global_batch_size
    model.compile(optimizer=recipe.make_optimizer(updates), loss=table_losses(list(model.output), ["expression"], True))
    batches = ArrayBatches(x, targets, batch_size=recipe.step_batch_size, shuffle=True, seed=5,
                           accumulate=recipe.accumulate)
    assert len(batches) == updates * recipe.accumulate  # whole updates only, the same rows either way
    model.fit(batches, epochs=1, verbose=0, shuffle=False)  # as fit_resumable: the batches shuffle themselves
    return model


@pytest.mark.slow  # trains two models per recipe (kept out of the quick subset)
@pytest.mark.parametrize("recipe_name", ["dream", "deepstarr"])  # one-cycle AdamW with weight decay; plain Adam
def test_256_x_4_makes_the_same_updates_as_1024(recipe_name):
    x, targets = _table()
    full = RECIPES[recipe_name].resolved(per_replica_batch_size=1024, epochs=2)
    accumulated = full.resolved(accumulate=4)
    assert accumulated.step_batch_size == 256 and accumulated.global_batch_size == 1024
    # on two replicas each update reads twice the examples, each step half of them
    assert (accumulated.for_replicas(2).global_batch_size, accumulated.for_replicas(2).step_batch_size) == (2048, 512)
    one, four = _train_one_epoch(full, x, targets), _train_one_epoch(accumulated, x, targets)
    assert int(one.optimizer.iterations) == int(four.optimizer.iterations) == 2  # updates, not steps
    # the learning rate the schedule gives after two updates is the same
    np.testing.assert_allclose(float(four.optimizer.learning_rate), float(one.optimizer.learning_rate), rtol=1e-7)
    for a, b in zip(one.get_weights(), four.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=1e-5)
    keras.utils.set_random_seed(3)
    initial = _tiny_model().get_weights()
    moved = max(float(np.abs(a - b).max()) for a, b in zip(one.get_weights(), initial))
    assert moved > 1e-3  # the two updates changed the weights: equality is not of untouched weights
    # and the 256-row steps differ from plain 256-row updates (accumulation really happened)
    plain = _train_one_epoch(full.resolved(per_replica_batch_size=256), x, targets)
    assert max(float(np.abs(a - b).max()) for a, b in zip(plain.get_weights(), one.get_weights())) > 1e-3


def test_accumulate_must_divide_the_batch():
    with pytest.raises(ValueError, match="--accumulate 3 must be a whole divisor of the batch size 1024"):
        RECIPES["dream"].resolved(accumulate=3)
    with pytest.raises(ValueError, match="--accumulate 0"):
        RECIPES["dream"].resolved(accumulate=0)
    assert RECIPES["dream"].make_optimizer(10).gradient_accumulation_steps is None
    assert RECIPES["dream"].resolved(accumulate=4).make_optimizer(10).gradient_accumulation_steps == 4


def test_train_command_refuses_an_accumulate_it_cannot_apply(data_dir, tmp_path, capsys):
    from dream_keras.cli import main

    table = data_dir / "dream_yeast" / "demo_train.txt"
    assert main(["train", "--task", "dream_yeast", "--data", str(table), "--accumulate", "3",
                 "--out", str(tmp_path / "run")]) == 2
    assert "--accumulate 3 must be a whole divisor of the batch size 1024" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before anything was written
    named = {option: tmp_path / name for option, name in (("--genome", "g.fa"), ("--bigwig", "b.bw"), ("--peaks", "p"),
                                                          ("--nonpeaks", "n"), ("--bias-model", "m.keras"))}
    for path in named.values():
        path.write_text("")  # the files exist: the refusal is of --accumulate, before any is read
    assert main(["train", *[part for option, path in named.items() for part in (option, str(path))], "--fold", "0",
                 "--accumulate", "2", "--out", str(tmp_path / "atac")]) == 2
    assert "not to --task atac" in capsys.readouterr().err
