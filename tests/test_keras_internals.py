"""The private Keras APIs the zoo still relies on (Keras 3.15) are there and behave as it assumes.

Each use has a comment naming it where it is made; these tests fail first when a Keras release
renames or changes one, so that the use can be replaced rather than silently doing nothing.
"""

import inspect

import keras
import pytest
import tensorflow as tf

from dream_keras import build_model


def _tiny_model():
    return build_model("deepstarr", input_length=40, filters=[2, 2, 2, 2], dense_units=[4, 4])


def test_jit_compile_attribute_is_what_the_public_property_reads():
    """performance.apply_jit_compile sets Trainer._jit_compile."""
    model = _tiny_model()
    model.compile(optimizer="adam", loss="mse", jit_compile=False)
    assert model.jit_compile is False
    model._jit_compile = True
    assert model.jit_compile is True


def test_a_model_built_in_a_strategy_scope_remembers_it_as_distribute_strategy():
    """DistributionPlan.prepare_model clears model._distribute_strategy for multiworker runs."""
    strategy = tf.distribute.MirroredStrategy(devices=["/cpu:0"])
    with strategy.scope():
        model = _tiny_model()
    assert model._distribute_strategy is strategy
    model._distribute_strategy = None
    assert model.distribute_strategy is not strategy  # the public property falls back to the default


def test_reduce_per_replica_is_the_hook_distribution_wraps():
    """distribution._average_scalar_logs_across_workers wraps trainer.reduce_per_replica."""
    from keras.src.backend.tensorflow import trainer

    assert list(inspect.signature(trainer.reduce_per_replica).parameters) == ["values", "strategy", "reduction"]
    assert callable(trainer._collective_all_reduce_multi_worker)
    assert not trainer._collective_all_reduce_multi_worker(tf.distribute.get_strategy())


def test_flatten_layers_walks_nested_models():
    """export.portable_graph finds the recurrent layers of nested models with _flatten_layers."""
    inner = _tiny_model()
    x = keras.Input((40, 4))
    outer = keras.Model(x, inner(x))
    names = {layer.name for layer in outer._flatten_layers(include_self=True, recursive=True)}
    assert inner.name in names and inner.layers[1].name in names


def test_conv1d_defines_its_own_call():
    """export.portable_graph swaps Conv1D.call for the export and restores Keras's own."""
    assert "call" in keras.layers.Conv1D.__mro__[1].__dict__ or "call" in keras.layers.Conv1D.__dict__
    assert list(inspect.signature(keras.layers.Conv1D.call).parameters)[:2] == ["self", "inputs"]


@pytest.mark.parametrize("name", ["mixed_bfloat16", "float32"])
def test_dtype_policies_get_gives_named_policies(name):
    """SequenceModel(dtype=...) reads policies through the public keras.dtype_policies.get."""
    assert keras.dtype_policies.get(name).name == name


def test_op_determinism_switch_is_readable():
    """jit_choice.op_determinism_enabled reads TensorFlow's private switch.

    jit_choice.op_determinism_enabled reads TensorFlow's private switch that enable_op_determinism sets (run in a fresh
    process: determinism cannot be switched off again).
    """
    import subprocess
    import sys

    code = ("import tensorflow as tf; from dream_keras.training.jit_choice import op_determinism_enabled as on; "
            "before = on(); tf.config.experimental.enable_op_determinism(); print(before, on())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200)
    assert done.stdout.split()[-2:] == ["False", "True"], done.stderr[-2000:]


def test_flatten_layers_walks_nested_layers():
    """memory_check.activation_bytes_per_example sums the outputs of model._flatten_layers(recursive=True)."""
    inner = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(5)])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, inner(keras.layers.Dense(7)(inputs)))
    sizes = sorted(layer.output.shape[-1] for layer in model._flatten_layers(include_self=False, recursive=True)
                   if not isinstance(layer, keras.layers.InputLayer))
    assert sizes == [3, 5, 5, 7]  # the Sequential (output 5) and both of its Dense layers
