"""Mixed precision and XLA: dtypes under a mixed policy, XLA on = off, and the command-line plumbing."""

import json

import keras
import numpy as np
import pytest
from tiny_atac import bias_args

from bias_models import with_bias
from dream_keras import build_model
from dream_keras.cli import main
from dream_keras.losses import chrombpnet_loss
from dream_keras.tasks.atac.profile_count_fit import compile_profile_count
from dream_keras.training import jit_choice
from dream_keras.training.performance import MEASURE, apply_jit_compile, precision, resolve_jit_compile, set_precision
from dream_keras.training.seeding import seed_everything

# the XLA choice of --jit-compile auto is what these tests measure: the real one (conftest.xla_off)
pytestmark = pytest.mark.xla_choice

INPUT, OUTPUT = 256, 128


def _tiny_bpnet(filters=8, **options):
    return build_model("bpnet", "profile_count", input_length=INPUT, output_length=OUTPUT, filters=filters,
                       n_dil_layers=1, **options)


def _tiny_dream_cnn():
    return build_model("dream_cnn", "profile_count", input_length=INPUT, output_length=OUTPUT, first_filters=8,
                       core_channels=[8])


def _batch(size=4, seed=0):
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(size, INPUT))]
    profile = rng.poisson(0.5, size=(size, OUTPUT)).astype(np.float32)
    return x, {"profile": profile, "logcounts": np.log1p(profile.sum(axis=1, keepdims=True))}


@pytest.fixture(autouse=True)
def float32_after():
    yield
    set_precision("float32")


def test_mixed_bfloat16_computes_in_bf16_with_float32_weights_outputs_and_loss():
    with precision("mixed_bfloat16") as compute_dtype:
        assert compute_dtype == "bfloat16"
        model = _tiny_bpnet()
        bias = _tiny_bpnet(layer_prefix="")
        combined = with_bias(model, bias)
    assert keras.config.dtype_policy().name == "float32"  # the context put the old policy back
    convs = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Conv1D)]
    body = [layer for layer in convs if layer.name != "wo_bias_bpnet_prof_out_precrop"]
    assert body and {layer.compute_dtype for layer in body} == {"bfloat16"}
    assert {v.dtype for v in combined.weights} == {"float32"}
    x, y = _batch()
    for network in (model, combined):
        outputs = network(x)
        assert {name: keras.backend.standardize_dtype(t.dtype) for name, t in outputs.items()} == {"profile": "float32",
                                                                        "logcounts": "float32"}
    # An intermediate feature map really is bfloat16 (the policy took effect before the head).
    features = keras.Model(model.inputs, model.get_layer("wo_bias_bpnet_prof_out_precrop").input)(x)
    assert keras.backend.standardize_dtype(features.dtype) == "bfloat16"
    loss, weights = chrombpnet_loss(2.0)
    outputs = combined(x)
    values = {name: loss[name](y[name], outputs[name]) for name in loss}
    assert {keras.backend.standardize_dtype(v.dtype) for v in values.values()} == {"float32"}
    # The loss of the bf16 model is near the float32 model's with the same weights (within bf16 precision).
    reference = with_bias(_tiny_bpnet(), _tiny_bpnet(layer_prefix=""))
    reference.set_weights(combined.get_weights())
    expected = {name: float(loss[name](y[name], reference(x)[name])) for name in loss}
    for name in loss:
        assert float(values[name]) == pytest.approx(expected[name], rel=2e-2)
        assert float(values[name]) != expected[name]  # it did compute in bfloat16


def test_mixed_float16_compiles_with_loss_scaling():
    with precision("mixed_float16"):
        model = _tiny_bpnet()
        trainer = compile_profile_count(model, counts_loss_weight=2.0, learning_rate=1e-3)
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    losses = trainer.train_on_batch(*_batch())
    assert np.all(np.isfinite(losses))


def test_dream_rnn_lstm_stays_float32_under_mixed_bfloat16():
    def tiny():
        return build_model("dream_rnn", "profile_count", input_length=INPUT, output_length=OUTPUT, first_filters=8,
                           lstm_units=4, core_filters=8)

    with precision("mixed_bfloat16"):
        model = tiny()
        trainer = compile_profile_count(model, counts_loss_weight=2.0, learning_rate=1e-3)
    lstm = model.get_layer("core_bilstm")
    assert {lstm.compute_dtype, lstm.forward_layer.compute_dtype, lstm.backward_layer.compute_dtype} == {"float32"}
    assert model.get_layer("core_conv_k9").compute_dtype == "bfloat16"
    assert np.all(np.isfinite(trainer.train_on_batch(*_batch())))
    # under float32 nothing is pinned: the layer follows the policy like every other layer
    assert tiny().get_layer("core_bilstm").forward_layer.dtype_policy.name == "float32"


def test_unknown_precision_and_jit_choice_are_refused():
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        set_precision("bfloat16")
    with pytest.raises(ValueError, match="auto, on, off"):
        resolve_jit_compile("yes", "bpnet")


def test_auto_jit_measures_on_cpu():
    assert resolve_jit_compile("on", "bpnet") is True
    assert resolve_jit_compile("off", "dream_cnn") is False
    # This machine has no GPU: "auto" times the run's model both ways (no table of figures).
    assert resolve_jit_compile("auto", "dream_cnn") == MEASURE == resolve_jit_compile("auto", "any_backbone")


def _compiled_tiny_bpnet(filters=8):
    """The network compiled with ChromBPNet's losses, as compile_profile_count times it for ``auto``."""
    seed_everything(0)
    model = _tiny_bpnet(filters)
    loss, loss_weights = chrombpnet_loss(2.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss, loss_weights=loss_weights, jit_compile=False)
    return model


def test_auto_jit_measures_caches_and_reuses_the_decision(tmp_path, monkeypatch):
    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path / "cache"))
    assert jit_choice.cache_path() == tmp_path / "cache" / jit_choice.CACHE_FILE
    model = _compiled_tiny_bpnet()
    key = jit_choice.decision_key(model, 4, "bpnet")
    said = []
    # the real measuring code, on the tiny model: one entry is written, with both timings
    chose = apply_jit_compile(model, MEASURE, step_batch_size=4, backbone="bpnet", say=said.append)
    entries = json.loads(jit_choice.cache_path().read_text())
    assert list(entries) == [key]
    measured = entries[key]
    assert measured["without_xla"] > 0 and measured["with_xla"] > 0
    assert chose is (measured["with_xla"] < measured["without_xla"]) is model.jit_compile
    assert len(said) == 1 and "measured now" in said[0] and f"XLA {'on' if chose else 'off'}" in said[0]
    assert json.loads(key)["batch_size"] == 4 and json.loads(key)["precision"] == "float32"
    assert json.loads(key)["cpu"] == jit_choice.cpu_model() and json.loads(key)["input_shape"] == [[INPUT, 4]]
    assert json.loads(key)["parameters"] == model.count_params() and json.loads(key)["op_determinism"] is True
    # a cached entry is reused, not measured again, and the decision follows the faster figure
    for without, with_xla, expected in ((9.0, 1.0, True), (1.0, 9.0, False)):
        jit_choice.write_cache_entry(jit_choice.cache_path(), key, {"without_xla": without, "with_xla": with_xla})
        said.clear()
        assert apply_jit_compile(model, MEASURE, step_batch_size=4, backbone="bpnet", say=said.append) is expected
        assert model.jit_compile is expected and "cached in" in said[0]
    # another batch size is another configuration: measured, added next to the first
    apply_jit_compile(model, MEASURE, step_batch_size=2, backbone="bpnet", say=said.append)
    assert len(json.loads(jit_choice.cache_path().read_text())) == 2
    # another size of the same backbone at the same shape and batch is another configuration too
    wider = _compiled_tiny_bpnet(filters=16)
    assert jit_choice.decision_key(wider, 4, "bpnet") != key
    with pytest.raises(ValueError, match="batch_size"):
        apply_jit_compile(model, MEASURE)


def test_measuring_leaves_the_run_training_as_without_measuring(tmp_path, monkeypatch):
    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path))
    x, y = _batch(4)
    trained = []
    for measure in (False, True):
        model = _compiled_tiny_bpnet()
        if measure:
            jit_choice.measure_jit_compile(model, 4, steps=1)
        apply_jit_compile(model, False)
        model.train_on_batch(x, y)
        trained.append(model.get_weights() + [v.numpy() for v in model.optimizer.variables])
    assert len(trained[0]) == len(trained[1])
    for a, b in zip(*trained):
        np.testing.assert_array_equal(a, b)


def test_a_model_xla_cannot_compile_trains_without_it(tmp_path, monkeypatch, capfd):
    """A model whose MaxPool gradient XLA cannot compile deterministically trains without XLA.

    Seeded runs turn op determinism on, and TensorFlow has no deterministic XLA kernel for MaxPool's
    gradient: DeepSTARR's tower then trains without XLA, and the reason is said once, in words, and
    cached; TensorFlow's C++ lines about the failed compilation stay off the terminal.
    """
    from dream_keras import build_model

    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path))
    seed_everything(0)
    model = build_model("deepstarr", filters=[4, 4, 4, 4], dense_units=[8, 8])
    model.compile(optimizer="adam", loss={name: "mse" for name in model.output}, jit_compile=False)
    said = []
    capfd.readouterr()  # what TensorFlow printed as it started (the CUDA probe) is not the measurement's
    assert apply_jit_compile(model, MEASURE, step_batch_size=4, backbone="deepstarr", say=said.append) is False
    (entry,) = json.loads(jit_choice.cache_path().read_text()).values()
    assert entry["with_xla"] is None and "deterministic" in entry["xla_error"] and entry["without_xla"] > 0
    assert "XLA cannot compile it here" in said[0] and said[0].endswith("-> XLA off")
    assert "max pooling" in said[0] and "GPU" not in said[0]
    printed = capfd.readouterr()
    for noise in ("UNIMPLEMENTED", "tf2xla", "E0000", "MaxPoolGrad"):
        assert noise not in printed.err + printed.out


def test_xla_is_not_tried_where_its_step_may_not_fit_in_memory(tmp_path, monkeypatch):
    """An XLA step that runs out of memory ends the process.

    ``auto`` keeps XLA off, without timing and without caching, when ``XLA_FACTOR`` x the layer outputs x the batch
    exceeds the available memory, even over a cached "XLA on".
    """
    from dream_keras.training import memory_check

    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path))
    model = _compiled_tiny_bpnet()
    needs = memory_check.activation_bytes_per_example(model) * memory_check.XLA_FACTOR * 4
    assert memory_check.xla_fits(model, 4, available=needs) == (True, needs, needs)
    assert memory_check.xla_fits(model, 4, available=needs - 1)[0] is False
    key = jit_choice.decision_key(model, 4, "bpnet")
    jit_choice.write_cache_entry(jit_choice.cache_path(), key, {"without_xla": 9.0, "with_xla": 1.0})
    monkeypatch.setattr(memory_check, "available_bytes", lambda: int(needs) - 1)
    said = []
    assert apply_jit_compile(model, MEASURE, step_batch_size=4, backbone="bpnet", say=said.append) is False
    assert model.jit_compile is False and "XLA is not tried -> XLA off" in said[0] and "GiB available now" in said[0]
    assert list(json.loads(jit_choice.cache_path().read_text()).values()) == [{"without_xla": 9.0, "with_xla": 1.0}]
    monkeypatch.setattr(memory_check, "available_bytes", lambda: int(needs))  # room enough: the cache decides
    assert apply_jit_compile(model, MEASURE, step_batch_size=4, backbone="bpnet", say=said.append) is True
    # room at the start, but not after the steps without XLA (whose memory the process keeps): timed
    # without XLA only, XLA not tried, nothing cached
    readings = iter([int(needs), int(needs) - 1])
    monkeypatch.setattr(memory_check, "available_bytes", lambda: next(readings))
    said.clear()
    assert apply_jit_compile(model, MEASURE, step_batch_size=4, backbone="bpnet-2", say=said.append) is False
    assert "s/step without XLA; an XLA step may need" in said[0] and said[0].endswith("XLA is not tried -> XLA off")
    assert len(json.loads(jit_choice.cache_path().read_text())) == 1


def test_unreadable_cache_is_ignored_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv(jit_choice.CACHE_ENV, str(tmp_path))
    jit_choice.cache_path().write_text("{not json")
    assert jit_choice.read_cache(jit_choice.cache_path()) == {}
    jit_choice.write_cache_entry(jit_choice.cache_path(), "k", {"without_xla": 1.0, "with_xla": 2.0})
    assert json.loads(jit_choice.cache_path().read_text()) == {"k": {"without_xla": 1.0, "with_xla": 2.0}}
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary name was renamed


def test_xla_on_and_off_predict_the_same_for_dream_cnn():
    x, _ = _batch(8)
    seed_everything(0)  # switches op determinism on: Keras alone would refuse XLA
    model = _tiny_dream_cnn()
    predictions = {}
    for jit in (True, False):
        trainer = compile_profile_count(model, counts_loss_weight=2.0, learning_rate=1e-3, jit_compile=jit)
        assert trainer.jit_compile is jit
        predictions[jit] = trainer.predict_on_batch(x)["profile"]
    np.testing.assert_allclose(predictions[True], predictions[False], rtol=1e-5, atol=1e-5)
    assert np.std(predictions[True]) > 0  # not a constant output that would match trivially


@pytest.mark.slow  # trains or starts a second interpreter
def test_seeded_xla_training_repeats_exactly():
    x, y = _batch(8)
    seed_everything(0)
    model = _tiny_bpnet()
    initial = model.get_weights()
    trainer = compile_profile_count(model, counts_loss_weight=2.0, learning_rate=1e-2, jit_compile=True)
    if not trainer.optimizer.built:
        trainer.optimizer.build(trainer.trainable_variables)
    optimizer_state = [variable.numpy() for variable in trainer.optimizer.variables]
    weights = []
    for _ in range(2):  # the same compiled XLA step twice from the same state (one compilation)
        model.set_weights(initial)
        for variable, value in zip(trainer.optimizer.variables, optimizer_state):
            variable.assign(value)
        trainer.train_on_batch(x, y)
        weights.append(model.get_weights())
    moved = max(float(np.abs(a - b).max()) for a, b in zip(weights[0], initial))
    assert moved > 1e-4  # training changed the weights
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_apply_jit_compile_sets_xla_under_determinism_and_auto_gives_keras_choice(recwarn):
    seed_everything(0)  # op determinism on: Keras's own setter would refuse True (with a warning)
    model = _tiny_bpnet()
    model.compile(optimizer="adam", loss="mse", jit_compile=False)
    assert apply_jit_compile(model, True) is True and model.jit_compile is True
    assert apply_jit_compile(model, False) is False
    assert apply_jit_compile(model, "auto") is False  # Keras's choice on a CPU-only TensorFlow
    assert not [w for w in recwarn if "jit_compile" in str(w.message)]


@pytest.mark.slow  # trains or starts a second interpreter
def test_bias_train_cli_records_and_uses_precision_and_xla(atac, atac_nonpeaks, tmp_path):
    out = tmp_path / "bias_bf16"
    # the session's tiny bias run, in bfloat16 without XLA
    assert main(bias_args(atac, atac_nonpeaks, out) + ["--precision", "mixed_bfloat16", "--jit-compile", "off"]) == 0
    assert keras.config.dtype_policy().name == "float32"  # the run's policy did not leak
    parameters = json.loads((out / "logs" / "run.json").read_text())["parameters"]
    assert (parameters["precision"], parameters["jit_compile"]) == ("mixed_bfloat16", "off")
    # The saved model holds float32 weights: it loads and predicts in float32 as well as in bfloat16.
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(4, 512))]
    loaded = {}
    for name in ("float32", "mixed_bfloat16"):
        with precision(name):
            model = keras.saving.load_model(out / "models" / "bias.keras", compile=False)
        assert model.get_layer("bpnet_1st_conv").compute_dtype == name.removeprefix("mixed_")
        loaded[name] = model.predict_on_batch(x)["logcounts"]
    assert np.all(np.isfinite(loaded["float32"]))
    np.testing.assert_allclose(loaded["mixed_bfloat16"], loaded["float32"], rtol=5e-2, atol=5e-2)


def test_train_parser_defaults_are_float32_and_auto():
    import argparse

    from dream_keras.cli import train as train_command

    parser = argparse.ArgumentParser()
    train_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", "--out", "x", "--precision", "mixed_bfloat16"])
    assert (args.precision, args.jit_compile) == ("mixed_bfloat16", None)
    args.model_options, args.genome, args.bigwig, args.peaks, args.nonpeaks = {}, "g", "b", "p", "n"
    args.bias_model, args.fold = "m", "0"
    resolved = train_command.atac_parameters(args)
    assert (resolved.precision, resolved.jit_compile) == ("mixed_bfloat16", "auto")
    assert resolved.as_dict()["precision"] == "mixed_bfloat16"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--out", "x", "--precision", "bfloat16"])
