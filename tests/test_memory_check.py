"""The memory preflight of table training: estimated from the layer outputs, refusing with the fix."""

import keras
import pytest

from data_prep.errors import InputError
from dream_keras.training import memory_check


def _model():
    inputs = keras.Input((10, 4))
    hidden = keras.layers.Conv1D(8, 3, padding="same")(inputs)  # 10 x 8 floats
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(hidden))  # 80, then 2 floats
    return keras.Model(inputs, outputs)


def test_activation_bytes_count_every_layer_output():
    assert memory_check.activation_bytes_per_example(_model()) == (10 * 4 + 80 + 80 + 2) * 4


def test_a_step_that_fits_passes_and_one_that_does_not_names_the_accumulation():
    model = _model()
    per_example = memory_check.activation_bytes_per_example(model) * memory_check.ACTIVATION_FACTOR
    estimate = memory_check.check_step_memory(model, global_batch_size=1024, step_batch_size=1024, what="m",
                                              available=per_example * 1024)
    assert estimate["step"] == per_example * 1024
    # room for 300 examples: 1,024 / 4 = 256 is the first whole split that fits
    with pytest.raises(InputError, match=r"m: one training step at batch 1,024 .*Fix: --accumulate 4 \(each step "
                                         r"then holds 256 examples and every update still uses 1,024\)"):
        memory_check.check_step_memory(model, global_batch_size=1024, step_batch_size=1024, what="m",
                                       available=per_example * 300)
    # with --accumulate 4 given, the step holds 256: it fits
    memory_check.check_step_memory(model, global_batch_size=1024, step_batch_size=256, what="m",
                                   available=per_example * 300)
    with pytest.raises(InputError, match="Fix: a smaller --batch-size"):
        memory_check.check_step_memory(model, global_batch_size=7, step_batch_size=7, what="m",
                                       available=per_example / 2)
    assert [memory_check.smallest_accumulation(model, 1024, available=per_example * room) for room in (1024, 300, 1)] \
        == [1, 4, 1024]
    assert memory_check.smallest_accumulation(model, 7, available=per_example / 2) is None


def test_available_memory_is_read_from_this_machine():
    available = memory_check.available_bytes()
    assert available is None or available > 2 ** 28


def test_a_recurrent_layer_counts_its_gates_too():
    inputs = keras.Input((5, 2))
    outputs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(inputs)  # 5 x 6 floats
    model = keras.Model(inputs, outputs)
    assert memory_check.activation_bytes_per_example(model) == (5 * 2 + 5 * 6 * (1 + memory_check.RECURRENT_GATES)) * 4


@pytest.mark.parametrize("fold", [None, "all"])
def test_a_refused_run_leaves_no_folder_behind(tmp_path, data_dir, monkeypatch, fold):
    from dream_keras.tasks.tables.train import train_table_task

    # this machine's memory reading, made tiny: every step is refused before anything is written
    monkeypatch.setattr(memory_check, "available_bytes", lambda: 1024)
    task, table = (("dream_yeast", data_dir / "dream_yeast" / "demo_train.txt") if fold is None
                   else ("lentimpra", data_dir / "lentimpra" / "sample_train.txt"))
    backbone, options = (("dream_rnn", {"first_filters": 8, "lstm_units": 4, "core_filters": 8}) if fold is None
                         else ("mprann", {"filters": [8, 8, 8, 4], "dense_units": [16, 8]}))
    run = dict(backbone=backbone, epochs=1, batch_size=64, model_options=options, verbose=0)
    if fold is not None:
        run.update(fold=fold, folds=[0])
    refused = f"{backbone} on {task}: one training step at batch 64 .*Fix: a smaller --batch-size"
    with pytest.raises(InputError, match=refused):
        train_table_task(task, table, out=tmp_path / "new", **run)
    assert not (tmp_path / "new").exists()  # before: new/{logs,models,evaluation} (fold all: new/logs/run.json)
    (tmp_path / "made").mkdir()  # an empty folder the user made stays empty
    with pytest.raises(InputError, match=refused):
        train_table_task(task, table, out=tmp_path / "made", **run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["made"] and not any((tmp_path / "made").iterdir())


def test_xla_counts_recurrent_layers_by_their_length():
    """XLA's memory for a recurrent layer grows with its time steps (and directions), not the batch."""
    inputs = keras.Input((10, 3))
    hidden = keras.layers.LSTM(4, return_sequences=True)(inputs)  # 10 steps, one direction
    outputs = keras.layers.Bidirectional(keras.layers.GRU(2))(hidden)  # 10 steps, two directions
    model = keras.Model(inputs, outputs)
    per_example = memory_check.activation_bytes_per_example(model)
    fits, needs, available = memory_check.xla_fits(model, 8, available=10 ** 12)
    assert fits and available == 10 ** 12
    assert needs == per_example * memory_check.XLA_FACTOR * 8 + 30 * memory_check.XLA_BYTES_PER_RECURRENT_STEP
    assert memory_check.xla_fits(model, 8, available=int(needs) - 1)[0] is False
