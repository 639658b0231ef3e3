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
    estimate = memory_check.check_step_memory(model, batch_size=1024, step_batch_size=1024, what="m",
                                              available=per_example * 1024)
    assert estimate["step"] == per_example * 1024
    # room for 300 examples: 1,024 / 4 = 256 is the first whole split that fits
    with pytest.raises(InputError, match=r"m: one training step at batch 1,024 .*Fix: --accumulate 4 \(each step "
                                         r"then holds 256 examples and every update still uses 1,024\)"):
        memory_check.check_step_memory(model, batch_size=1024, step_batch_size=1024, what="m",
                                       available=per_example * 300)
    # with --accumulate 4 given, the step holds 256: it fits
    memory_check.check_step_memory(model, batch_size=1024, step_batch_size=256, what="m", available=per_example * 300)
    with pytest.raises(InputError, match="Fix: a smaller --batch-size"):
        memory_check.check_step_memory(model, batch_size=7, step_batch_size=7, what="m", available=per_example / 2)


def test_available_memory_is_read_from_this_machine():
    available = memory_check.available_bytes()
    assert available is None or available > 2 ** 28


def test_a_recurrent_layer_counts_its_gates_too():
    inputs = keras.Input((5, 2))
    outputs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(inputs)  # 5 x 6 floats
    model = keras.Model(inputs, outputs)
    assert memory_check.activation_bytes_per_example(model) == (5 * 2 + 5 * 6 * (1 + memory_check.RECURRENT_GATES)) * 4
