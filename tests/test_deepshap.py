"""DeepSHAP contributions: summation to delta, an independent NumPy DeepLIFT, every method on every pair.

Tiny models; the expected numbers are computed here from the models' predictions (or, for the
NumPy check, from the weights alone), never by the package's own code.
"""

import inspect

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from test_interpret import LENGTH, random_onehot, tiny_bpnet
from test_zoo import PROFILE_MIN_INPUT, SHORT_INPUT, TINY_BACKBONE_OPTIONS, TINY_HEAD_OPTIONS

import dream_keras
from bias_models.factorised import with_bias
from data_prep import InputError
from dream_keras import build_model
from dream_keras.cli import main as cli_main
from dream_keras.interpret import contributions, deepshap_refusal, deepshap_with_references, default_method
from dream_keras.interpret.attributions import gradient_function
from dream_keras.interpret.deepshap import shuffled_references
from dream_keras.interpret.targets import resolve_output

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

N_SEQUENCES, N_REFERENCES = 3, 4


def _softmax(values):
    weights = np.exp(values - values.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def _predict(model, values):
    """Outputs as float64 arrays, called eagerly (no predict function traced per batch shape)."""
    return {name: keras.ops.convert_to_numpy(value).astype(np.float64)
            for name, value in model(tf.constant(values, tf.float32), training=False).items()}


def expected_deltas(model, sequences, references, output):
    """``target(x) - target(r)`` per (sequence, reference) from the model's predictions, float64.

    For the profile the softmax weights held constant are the mean of the sequence's and the
    reference's (the Shapley rule of the product weights x logits, the official DeepSHAP's).
    """
    n, k = references.shape[:2]
    own, other = (_predict(model, values) for values in (sequences, references.reshape(n * k, *references.shape[2:])))
    if output == "profile":
        logits_x = np.repeat(own["profile"].astype(np.float64), k, axis=0)
        logits_r = other["profile"].astype(np.float64)
        centred_x = logits_x - logits_x.mean(axis=1, keepdims=True)
        centred_r = logits_r - logits_r.mean(axis=1, keepdims=True)
        weights = (_softmax(centred_x) + _softmax(centred_r)) / 2
        return (weights * (centred_x - centred_r)).sum(axis=1).reshape(n, k)
    values_x = own[output].astype(np.float64).reshape(n, -1).sum(axis=1)
    values_r = other[output].astype(np.float64).reshape(n * k, -1).sum(axis=1)
    return (np.repeat(values_x, k) - values_r).reshape(n, k)


def assert_sums_to_delta(model, sequences, output, jit_compile=False):
    references = shuffled_references(sequences, 0, len(sequences), N_REFERENCES, seed=5)
    scores = deepshap_with_references(model, sequences, references, output, multipliers=True, batch_size=8,
                                      jit_compile=jit_compile)
    x = sequences.astype(np.float64)[:, None]
    sums = ((x - references) * scores.multipliers).sum(axis=(2, 3))
    deltas = expected_deltas(model, sequences, references, output)
    assert np.abs(deltas).max() > 1e-2  # the model's output varies, so the comparison means something
    np.testing.assert_allclose(sums, deltas, rtol=1e-4, atol=1e-4 * np.abs(deltas).max())
    # Hypothetical scores: the multipliers projected onto each base, averaged over the references;
    # at the base present they are the mean contribution, summing to target(x) - mean target(r).
    bases = scores.multipliers[..., :4].astype(np.float64)
    hypothetical = (bases - (bases * references[..., :4]).sum(axis=-1, keepdims=True)).mean(axis=1)
    np.testing.assert_allclose(scores.hypothetical, hypothetical, rtol=1e-5, atol=1e-6 * np.abs(hypothetical).max())
    projected = scores.hypothetical * sequences[..., :4]
    np.testing.assert_allclose(projected.sum(axis=(1, 2)), deltas.mean(axis=1), rtol=1e-4,
                               atol=1e-4 * np.abs(deltas).max())


@pytest.fixture(scope="module")
def bpnet():
    return tiny_bpnet()


@pytest.fixture(scope="module")
def factorised():
    bias = tiny_bpnet(seed=3, layer_prefix="")
    return with_bias(tiny_bpnet(seed=4), bias)


# --- (a) summation to delta ----------------------------------------------------------------------------

@pytest.mark.parametrize("output", ["logcounts", "profile"])
def test_profile_count_model_sums_to_delta(bpnet, output):
    assert_sums_to_delta(bpnet, random_onehot(N_SEQUENCES, LENGTH, seed=1), output)


@pytest.mark.parametrize("output", ["logcounts", "profile"])
def test_bias_factorised_model_sums_to_delta(factorised, output):
    # LogSumExp of the two log-counts: the Shapley pair rule.
    assert_sums_to_delta(factorised, random_onehot(N_SEQUENCES, LENGTH, seed=2), output)


def _scaled(model, names, factor):
    """Multiply the kernels of the layers ``names`` by ``factor``.

    A freshly built tiny model's output hardly varies between sequences, and a delta near float32 rounding
    would test nothing.
    """
    for name in names:
        layer = model.get_layer(name)
        weights = layer.get_weights()
        layer.set_weights([weights[0] * factor, *weights[1:]])
    return model


TABLE_MODELS = {
    # name: (backbone, head, options, output, layers whose kernels are scaled, factor)
    "deepstarr": ("deepstarr", "deepstarr", {"input_length": 64}, "Dev", ("Dense_Dev",), 4.0),
    "mprann": ("mprann", "mprann", {"input_length": 60}, "activity",
               ("conv1", "conv2", "conv3", "conv4", "mprann_activity"), 4.0),
    "dream_cnn_regression": ("dream_cnn", "regression", {"input_length": 60, "channels": 4}, "activity",
                             ("regression_activity",), 300.0),
    "dream_cnn_soft_bins": ("dream_cnn", "soft_bins", {"input_length": 60, "channels": 6}, "expression",
                            ("soft_bins_mapper",), 30.0),
}


# DREAM-CNN's regression head adds no rule to what its soft_bins head needs: in the slow subset.
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name == "dream_cnn_regression"
                                  else name for name in sorted(TABLE_MODELS)])
def test_table_model_sums_to_delta(name):
    # MaxPool (DeepSTARR, MPRAnn), softmax over channels (MPRAnn) and over bins (soft_bins), sigmoid
    # (MPRAnn's head), SiLU, squeeze-excitation products and BatchNorm (DREAM-CNN).
    backbone, head, options, output, prefixes, factor = TABLE_MODELS[name]
    keras.utils.set_random_seed(0)
    model = build_model(backbone, head, **TINY_BACKBONE_OPTIONS[backbone], **TINY_HEAD_OPTIONS[head], **options)
    _scaled(model, prefixes, factor)
    sequences = random_onehot(N_SEQUENCES, options["input_length"], seed=3).astype(np.float32)
    if options.get("channels") == 6:
        sequences = np.concatenate([sequences, np.zeros((*sequences.shape[:2], 2), np.float32)], axis=2)
        sequences[1, :, 4] = 1   # DREAM yeast's reverse-complement flag: equal in sequence and references
    assert_sums_to_delta(model, sequences, output, jit_compile=False)


# --- (b) an independent DeepLIFT in NumPy --------------------------------------------------------------

def _conv(x, kernel, bias, dilation):
    """Valid Conv1D of ``x`` (n, L, C) with ``kernel`` (k, C, F), float64."""
    taps, out_length = kernel.shape[0], x.shape[1] - dilation * (kernel.shape[0] - 1)
    return sum(x[:, j * dilation:j * dilation + out_length] @ kernel[j] for j in range(taps)) + bias


def _conv_transpose(upstream, kernel, dilation, length):
    """The input-side multipliers of a valid Conv1D: ``upstream`` (n, L', F) -> (n, length, C)."""
    out = np.zeros((len(upstream), length, kernel.shape[1]))
    for j in range(kernel.shape[0]):
        out[:, j * dilation:j * dilation + upstream.shape[1]] += upstream @ kernel[j].T
    return out


def _relu_multiplier(z_x, z_r):
    """DeepLIFT's rescale rule for ReLU; the derivative at x where z hardly changes."""
    delta = z_x - z_r
    secant = (np.maximum(z_x, 0) - np.maximum(z_r, 0)) / np.where(np.abs(delta) < 1e-6, 1, delta)
    return np.where(np.abs(delta) < 1e-6, (z_x > 0).astype(float), secant)


def numpy_deeplift(weights, x, r):
    """DeepLIFT multipliers of a small network, layer by layer, in NumPy.

    The network is Conv1D(relu) -> Conv1D(relu, dilation 2) -> Flatten -> Dense(relu) -> Dense(1): forward
    both inputs, then the rescale rule at every ReLU.
    """
    (k1, b1), (k2, b2), (d1, c1), (d2, _) = weights
    z1_x, z1_r = _conv(x, k1, b1, 1), _conv(r, k1, b1, 1)
    h1_x, h1_r = np.maximum(z1_x, 0), np.maximum(z1_r, 0)
    z2_x, z2_r = _conv(h1_x, k2, b2, 2), _conv(h1_r, k2, b2, 2)
    f_x, f_r = np.maximum(z2_x, 0).reshape(len(x), -1), np.maximum(z2_r, 0).reshape(len(r), -1)
    z3_x, z3_r = f_x @ d1 + c1, f_r @ d1 + c1
    m = d2[:, 0][None] * _relu_multiplier(z3_x, z3_r)             # at z3
    m = (m @ d1.T).reshape(z2_x.shape) * _relu_multiplier(z2_x, z2_r)  # at z2
    m = _conv_transpose(m, k2, 2, z1_x.shape[1]) * _relu_multiplier(z1_x, z1_r)  # at z1
    return _conv_transpose(m, k1, 1, x.shape[1])


def test_multipliers_equal_a_numpy_deeplift():
    keras.utils.set_random_seed(1)
    length = 40
    inputs = keras.Input((length, 4), name="sequence")
    hidden = keras.layers.Conv1D(6, 5, activation="relu")(inputs)
    hidden = keras.layers.Conv1D(5, 3, dilation_rate=2, activation="relu")(hidden)
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(hidden))
    model = keras.Model(inputs, {"activity": keras.layers.Dense(1)(hidden)})
    rng = np.random.default_rng(2)
    for layer in model.layers[1:]:
        if layer.weights:  # biases too, so that units cross zero between sequence and reference
            layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    weights = [[w.astype(np.float64) for w in layer.get_weights()] for layer in model.layers if layer.weights]
    sequences = random_onehot(3, length, seed=4).astype(np.float32)
    references = shuffled_references(sequences, 0, 3, 5, seed=1)
    scores = deepshap_with_references(model, sequences, references, "activity", multipliers=True)
    expected = numpy_deeplift(weights, np.repeat(sequences.astype(np.float64), 5, axis=0),
                              references.reshape(15, length, 4).astype(np.float64)).reshape(3, 5, length, 4)
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(scores.multipliers, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    # Not the gradient: DeepLIFT's multipliers differ from the input gradient where units switch.
    gradient = gradient_function(model, "activity")(tf.constant(sequences))[0].numpy()
    assert np.abs(expected - gradient[:, None]).max() > 1e-2


# --- (c) every method on every backbone x head pair ---------------------------------------------------

def _zoo_pairs():
    backbones = [name for name in dream_keras.list_backbones() if not name.startswith("test_")]
    return [(backbone, head) for backbone in backbones for head in dream_keras.list_heads()]


# One DREAM-CNN stage instead of test_zoo's two: the graph is traced once per method and pair.
SMALLER_BACKBONE_OPTIONS = {"dream_cnn": {"first_filters": 8, "core_channels": [4]}}


def _tiny_pair_model(backbone, head):
    missing = {backbone} - set(TINY_BACKBONE_OPTIONS) | {head} - set(TINY_HEAD_OPTIONS)
    assert not missing, f"add tiny options for {sorted(missing)} to tests/test_zoo.py"
    length = PROFILE_MIN_INPUT[backbone] if head == "profile_count" else SHORT_INPUT
    options = SMALLER_BACKBONE_OPTIONS.get(backbone, TINY_BACKBONE_OPTIONS[backbone])
    keras.utils.set_random_seed(0)
    return build_model(backbone, head, input_length=length, channels=4, **options, **TINY_HEAD_OPTIONS[head])


@pytest.mark.slow  # 25 tiny models, each traced for gradients and for DeepSHAP
@pytest.mark.parametrize("backbone,head", _zoo_pairs())
def test_every_method_on_every_pair(backbone, head):
    model = _tiny_pair_model(backbone, head)
    output = "Dev" if head == "deepstarr" else None  # deepstarr's two tasks: explain the first
    sequences = random_onehot(2, model.input_length, seed=6)
    for method in ("gradient_x_input", "integrated_gradients", "deepshap"):
        if method == "deepshap" and backbone == "dream_rnn":
            with pytest.raises(InputError, match="'core_bilstm'.*integrated_gradients"):
                contributions(model, sequences, method, output, jit_compile=False)
            continue
        # batch_size 2: gradient x input and integrated gradients share one traced batch shape
        scores = contributions(model, sequences, method, output, n_baselines=2, steps=4, batch_size=2,
                               jit_compile=False)
        assert scores.shape == (2, model.input_length, 4) and np.all(np.isfinite(scores))
        assert np.all(scores[sequences == 0] == 0) and np.abs(scores).max() > 0
        if method == "deepshap":  # projected scores sum to target(x) - mean target(r), to float32 rounding
            name = resolve_output(model, output)
            references = shuffled_references(sequences, 0, 2, 2, seed=0)
            deltas = expected_deltas(model, sequences, references, name).mean(axis=1)
            scale = np.abs(_predict(model, sequences)[name]).max()
            np.testing.assert_allclose(scores.sum(axis=(1, 2)), deltas, rtol=1e-4,
                                       atol=1e-4 * np.abs(deltas).max() + 1e-5 * scale)


def test_gradients_survive_a_relaxed_batch_shape():
    # Three batch shapes make tf.function trace with an unknown batch size: the scalar target of a
    # (batch, 1) output kept its width (it was once refused as "None values per example").
    model = _tiny_pair_model("deepstarr", "soft_bins")
    gradient = gradient_function(model, "expression", jit_compile=False)
    for rows in (1, 2, 3):
        grads, target = gradient(tf.constant(random_onehot(rows, SHORT_INPUT, seed=rows).astype(np.float32)))
        assert grads.shape == (rows, SHORT_INPUT, 4) and target.shape == (rows,)


# --- (d) refusal ---------------------------------------------------------------------------------------

def test_a_layer_without_a_rule_is_refused_by_name():
    model = _tiny_pair_model("dream_rnn", "regression")
    refusal = deepshap_refusal(model)
    assert "'core_bilstm' (Bidirectional)" in refusal and "integrated_gradients" in refusal
    with pytest.raises(InputError, match="'core_bilstm'"):
        contributions(model, random_onehot(1, SHORT_INPUT), "deepshap")
    assert default_method(model) == "integrated_gradients"

    inputs = keras.Input((SHORT_INPUT, 4), name="sequence")
    normalised = keras.layers.LayerNormalization(name="my_norm")(keras.layers.Conv1D(4, 3)(inputs))
    custom = keras.Model(inputs, {"activity": keras.layers.Dense(1)(keras.layers.Flatten()(normalised))})
    with pytest.raises(InputError, match="'my_norm' \\(LayerNormalization\\)"):
        contributions(custom, random_onehot(1, SHORT_INPUT), "deepshap")
    assert default_method(_tiny_pair_model("bpnet", "regression")) == "deepshap"


# --- command line and files ----------------------------------------------------------------------------

def test_contribs_command_writes_deepshap_in_the_official_layout(saved_bpnet, data_dir, tmp_path):
    atac = data_dir / "atac_mm10"
    prefix = tmp_path / "tiny"
    assert cli_main(["contribs", "--model", str(saved_bpnet), "--genome", str(atac / "genome.fa"), "--regions",
                     str(atac / "peaks.narrowPeak"), "--out", str(prefix), "--output", "counts",
                     "--n-references", "3", "--seed", "7"]) == 0
    with h5py.File(tmp_path / "tiny.counts_scores.h5") as handle:
        assert dict(handle.attrs) | {"models": None} == {
            "alphabet": "ACGT", "layout": handle.attrs["layout"], "method": "deepshap", "seed": 7,
            "n_references": 3, "output": "logcounts", "models": None}
        raw, shap, projected = handle["raw/seq"][:], handle["shap/seq"][:], handle["projected_shap/seq"][:]
    assert raw.shape[1] == 4 and shap.shape == raw.shape == projected.shape   # (n, 4, length)
    np.testing.assert_array_equal(projected, shap * raw)
    # The same references as the library draws: the projected scores sum to target(x) - mean target(r).
    onehot = raw.transpose(0, 2, 1)
    references = shuffled_references(onehot, 0, len(onehot), 3, seed=7)
    deltas = expected_deltas(keras.saving.load_model(saved_bpnet), onehot, references, "logcounts").mean(axis=1)
    np.testing.assert_allclose(projected.sum(axis=(1, 2)), deltas, rtol=1e-4, atol=1e-4 * np.abs(deltas).max())


def test_keras_graph_walk_is_there():
    """deeplift_layers.run_pair_graph uses Functional._run_through_graph (private) with operation_fn."""
    from keras.src.models.functional import Functional

    assert list(inspect.signature(Functional._run_through_graph).parameters)[:3] == ["self", "inputs",
                                                                                      "operation_fn"]


@pytest.mark.slow  # runs the benchmark script end to end (tiny models)
def test_interpret_benchmark_runs_to_its_end(capsys):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "interpret.py"
    spec = importlib.util.spec_from_file_location("interpret_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    assert benchmark.main(["--tiny", "--deepshap-references", "4"]) == 0
    rows = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    for row in ("dream_cnn soft_bins integrated_gradients 20x4 80",
                "bpnet 8/2 profile_count deepshap logcounts, 4 refs",
                "bpnet 8/2 profile_count deepshap profile, 4 refs", "dream_cnn soft_bins deepshap expression, 4 refs"):
        assert any(line.startswith(row) for line in rows), rows
