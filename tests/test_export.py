"""SavedModel export for TF Serving: signatures equal the Keras models, versions, atomicity, folds, ops, CLI.

One tiny model per head kind is exported once (module scope) and reloaded with ``tf.saved_model.load``
and ``keras.layers.TFSMLayer``. References are computed outside the export code: Keras predictions on
inputs encoded by the tasks' own encoders (``data_prep.tables``: DREAM yeast padding and flags,
STARR-seq and lentiMPRA reverse complements), and numpy averages.
"""

import csv
import json
import pathlib
import re
import subprocess
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

import dream_keras
from bias_models import with_bias
from data_prep.errors import InputError
from data_prep.onehot import one_hot_decode, one_hot_encode
from data_prep.tables import dream_yeast, lentimpra, starrseq
from dream_keras.cli import main
from dream_keras.export import export_saved_model
from dream_keras.export.portable_graph import grouped_conv1d, portable_tracing

# Keras's own .keras writer trips NumPy 2's copy-keyword deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = pathlib.Path(__file__).parent / "data"
ATOL = RTOL = 1e-5
LENTIMPRA_ELEMENT = (lentimpra.ELEMENT_START, lentimpra.ELEMENT_STOP)

# One tiny model per head kind, each on the input of the task it serves.
KINDS = {
    "profile_count": ("bpnet", {"filters": 8, "n_dil_layers": 2, "input_length": 122, "output_length": 16}),
    # DREAM yeast: 150 x 6 (AGCT + is_reverse + is_singleton), the head's input defaults.
    "soft_bins": ("dream_cnn", {"first_filters": 8, "core_channels": [8, 4]}),
    # STARR-seq with the is_reverse channel: 249 x 5.
    "regression": ("dream_rnn", {"first_filters": 8, "lstm_units": 4, "core_filters": 8, "mapper_filters": 8,
                                 "input_length": 249, "channels": 5, "alphabet": "ACGT",
                                 "task_names": ["Dev", "Hk"]}),
    "deepstarr": ("deepstarr", {"filters": [8, 4, 4, 8], "dense_units": [8, 8]}),
    "mprann": ("mprann", {"filters": [8, 8, 8, 4], "dense_units": [8, 4]}),
}
# ChromBPNet's bias-factorised model: a bias-free bpnet plus a frozen bpnet bias model (its own prefix).
BIAS_FACTORISED = "bias_factorised"
MODEL_OUTPUTS = {"profile_count": {"profile", "logcounts"}, BIAS_FACTORISED: {"profile", "logcounts"},
                 "soft_bins": {"bins", "expression"},
                 "regression": {"Dev", "Hk"}, "deepstarr": {"Dev", "Hk"}, "mprann": {"activity"}}
PROFILE_KINDS = ("profile_count", BIAS_FACTORISED)


def _column(path, column, n=3, header=True):
    with open(path) as handle:
        rows = csv.reader(handle, delimiter="\t")
        names = next(rows) if header else None
        index = names.index(column) if header else column
        return [next(rows)[index] for _ in range(n)]


def _vary_case_and_n(sequences):
    """The second sequence in lower case, an N in the third: both must encode as the tables do."""
    sequences = list(sequences)
    sequences[1] = sequences[1].lower()
    sequences[2] = sequences[2][:5] + "N" + sequences[2][6:]
    return sequences


def _task_inputs(kind, input_length):
    """``(dna strings for predict_dna, forward one-hot, reverse-complement one-hot)`` for a kind."""
    if kind in PROFILE_KINDS:
        rng = np.random.default_rng(7)
        dna = ["".join(rng.choice(list("ACGT"), input_length)) for _ in range(3)]
        dna[1] = dna[1].lower()
        dna[2] = dna[2][:3] + "NRn-" + dna[2][7:]  # IUPAC, gap and N: all-zero rows
        forward = one_hot_encode(dna, "ACGT", dtype=np.float32)
        return dna, forward, np.ascontiguousarray(forward[:, ::-1, ::-1])
    if kind == "soft_bins":
        reads = _vary_case_and_n(_column(DATA / "dream_yeast" / "demo_train.txt", 0, header=False))
        forward, reverse = dream_yeast.test_time_inputs(reads)
        return dream_yeast.pad_with_plasmid(reads), forward, reverse
    if kind in ("regression", "deepstarr"):
        dna = _vary_case_and_n(_column(DATA / "deepstarr" / "sample_val.txt", starrseq.SEQUENCE_COLUMN))
        forward, reverse = starrseq.test_time_inputs(dna, reverse_channel=kind == "regression")
        return dna, forward, reverse
    dna = _vary_case_and_n(_column(DATA / "lentimpra" / "sample_valid.txt", lentimpra.SEQUENCE_COLUMN))
    forward, reverse = lentimpra.test_time_inputs(dna)
    return dna, forward, reverse


def _predict(model, x):
    # predict_on_batch runs Keras's compiled predict function: the same numbers as calling the model,
    # without the eager LSTM loop (seconds per call).
    return {name: np.asarray(value) for name, value in model.predict_on_batch(x).items()}


def _softmax_by_track(profile, tracks):
    by_track = profile.reshape(len(profile), -1, tracks)
    e = np.exp(by_track - by_track.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).reshape(len(profile), -1)


def _reverse_profile(profile, tracks):
    return profile.reshape(len(profile), -1, tracks)[:, ::-1, :].reshape(len(profile), -1)


def _expected_average(members, profile_count):
    """The documented average, in numpy: probabilities and counts for profiles, means otherwise."""
    if not profile_count:
        return {name: np.mean([m[name] for m in members], axis=0) for name in members[0]}
    tracks = members[0]["logcounts"].shape[-1]
    probs = np.mean([_softmax_by_track(m["profile"], tracks) for m in members], axis=0)
    counts = np.mean([np.exp(m["logcounts"]) for m in members], axis=0)
    return {"profile": np.log(probs), "profile_probs": probs, "logcounts": np.log(counts),
            "predicted_counts": counts}


def _assert_close(actual, expected, name):
    """Equal to 1e-5, absolute or relative (float32 sums in another order differ by ~1e-7 relative)."""
    np.testing.assert_allclose(np.asarray(actual), expected, atol=ATOL, rtol=RTOL, err_msg=name)


def _assert_outputs_close(actual, expected):
    assert set(actual) == set(expected)
    for name, value in expected.items():
        _assert_close(actual[name], value, name)


def _tiny(backbone, head, seed, **options):
    """A tiny model whose outputs vary between inputs far beyond the tolerance.

    A tiny model whose kernels are scaled up 3x, so that its outputs vary between inputs (and strands) by far more than
    the 1e-5 tolerance (at the initial scale some heads barely move).
    """
    keras.utils.set_random_seed(seed)
    model = dream_keras.build_model(backbone, head, **options)
    for weight in model.weights:
        if weight.path.endswith("kernel"):
            weight.assign(weight.numpy() * 3.0)
    return model


def _toy_model(seed=9, length=8):
    """Any Keras model with one input and named outputs exports.

    This small one (no zoo attributes: the input shape comes from the model, the alphabet defaults to ACGT) keeps export
    tests quick.
    """
    keras.utils.set_random_seed(seed)
    sequence = keras.Input((length, 4), name="sequence")
    features = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 3, activation="relu")(sequence))
    return keras.Model(sequence, {"Dev": keras.layers.Dense(1)(features), "Hk": keras.layers.Dense(1)(features)})


@pytest.fixture(scope="module", params=[*KINDS, BIAS_FACTORISED])
def exported(request, tmp_path_factory):
    kind = request.param
    folder = tmp_path_factory.mktemp(kind)
    if kind == BIAS_FACTORISED:
        backbone, options = KINDS["profile_count"]
        model = with_bias(_tiny(backbone, "profile_count", seed=31, **options),
                          _tiny(backbone, "profile_count", seed=32, **dict(options, layer_prefix="")))
        model.save(folder / "chrombpnet.keras")
        source = folder / "chrombpnet.keras"  # exported from the file: its classes must load
    else:
        backbone, options = KINDS[kind]
        model = source = _tiny(backbone, kind, seed=len(kind), **options)
    rc_span = LENTIMPRA_ELEMENT if kind == "mprann" else None
    path = export_saved_model(source, folder, kind, rc_span=rc_span)
    dna, forward, reverse = _task_inputs(kind, model.input_length)
    return types.SimpleNamespace(kind=kind, model=model, path=path, loaded=tf.saved_model.load(str(path)),
                                 dna=dna, forward=forward, reverse=reverse)


def test_serving_default_equals_the_keras_model(exported):
    expected = _predict(exported.model, exported.forward)
    assert set(expected) == MODEL_OUTPUTS[exported.kind]
    if exported.kind in PROFILE_KINDS:
        expected["profile_probs"] = _softmax_by_track(expected["profile"], 1)
        expected["predicted_counts"] = np.exp(expected["logcounts"])
    actual = exported.loaded.signatures["serving_default"](sequence=tf.constant(exported.forward))
    _assert_outputs_close(actual, expected)


def test_predict_dna_encodes_as_the_task_encoders(exported):
    by_strings = exported.loaded.signatures["predict_dna"](dna=tf.constant(exported.dna))
    by_one_hot = exported.loaded.signatures["serving_default"](sequence=tf.constant(exported.forward))
    _assert_outputs_close(by_strings, {name: value.numpy() for name, value in by_one_hot.items()})
    for name, value in _predict(exported.model, exported.forward).items():
        _assert_close(by_strings[name], value, name)


def test_predict_dna_names_the_expected_length(exported):
    length = exported.model.input_length
    too_short = exported.dna[0][:-1]
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"exactly {length} characters"):
        exported.loaded.signatures["predict_dna"](dna=tf.constant([exported.dna[1], too_short]))


def test_rc_average_equals_the_hand_computed_average(exported):
    forward = _predict(exported.model, exported.forward)
    reverse = _predict(exported.model, exported.reverse)
    profile_count = exported.kind in PROFILE_KINDS
    if profile_count:
        reverse["profile"] = _reverse_profile(reverse["profile"], 1)
    expected = _expected_average([forward, reverse], profile_count)
    _assert_outputs_close(exported.loaded.signatures["predict_rc_average"](sequence=tf.constant(exported.forward)),
                          expected)
    _assert_outputs_close(exported.loaded.signatures["predict_dna_rc_average"](dna=tf.constant(exported.dna)),
                          expected)
    # Averaging must change something: the two strands predict differently.
    for name in forward:
        assert np.abs(forward[name] - reverse[name]).max() > 100 * ATOL, name


def test_tfsm_layer_reloads_the_endpoints(exported):
    expected = _predict(exported.model, exported.forward)
    for endpoint, data in [("serving_default", tf.constant(exported.forward)),
                           ("predict_dna", tf.constant(exported.dna))]:
        outputs = keras.layers.TFSMLayer(str(exported.path), call_endpoint=endpoint)(data)
        for name, value in expected.items():
            _assert_close(outputs[name], value, f"{endpoint} {name}")


@pytest.mark.parametrize("exported", ["soft_bins"], indirect=True)
def test_signatures_run_by_tensor_name_in_a_session_as_tf_serving_does(exported):
    """TF Serving's C++ loader has no Python functions.

    It restores the MetaGraph into a session and feeds and fetches each signature's tensors by name. Do the same (TF1
    loader, graph mode).
    """
    feeds = {"serving_default": exported.forward, "predict_dna_rc_average": np.asarray(exported.dna, dtype=object)}
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(exported.path))
        answers = {}
        for name, value in feeds.items():
            signature = meta_graph.signature_def[name]
            (tensor_info,) = signature.inputs.values()
            outputs = {key: info.name for key, info in signature.outputs.items()}
            answers[name] = session.run(outputs, {tensor_info.name: value})
    forward, reverse = _predict(exported.model, exported.forward), _predict(exported.model, exported.reverse)
    _assert_outputs_close(answers["serving_default"], forward)
    _assert_outputs_close(answers["predict_dna_rc_average"], _expected_average([forward, reverse], False))


def _graph_op_types(saved_model_dir):
    """Op types of every node in the graph and its function library; the library's functions' attributes."""
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((pathlib.Path(saved_model_dir) / "saved_model.pb").read_bytes())
    ops, functions = set(), {}
    for meta_graph in saved_model.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            functions[function.signature.name] = function.attr
            ops.update(node.op for node in function.node_def)
    return ops, functions


def test_exported_graph_holds_tensorflow_builtin_ops_only(exported):
    ops, functions = _graph_op_types(exported.path)
    unregistered = {op for op in ops if op not in functions and op_def_registry.get(op) is None}
    assert unregistered == set()
    assert not ops & {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
    # Nothing needs XLA, which TF Serving does not compile by default (DREAM-CNN's grouped
    # convolutions run under jit_compile in Keras; export rewrites them as depthwise convolutions).
    assert [name for name, attrs in functions.items() if attrs["_XlaMustCompile"].b] == []
    # The DNA signatures encode in the graph; the model's convolutions are in it.
    assert {"DecodeRaw", "StringLength", "GatherV2", "ReverseV2", "Conv2D"} <= ops


@pytest.mark.parametrize("per_group_in, groups, per_group_out, kernel_size, padding, dilation",
                         [(2, 4, 2, 7, "same", 1), (3, 2, 5, 3, "valid", 2), (1, 6, 1, 5, "same", 1)])
def test_grouped_conv1d_without_xla_equals_keras(per_group_in, groups, per_group_out, kernel_size, padding,
                                                 dilation):
    x = np.random.default_rng(0).normal(size=(2, 20, per_group_in * groups)).astype("float32")
    layer = keras.layers.Conv1D(groups * per_group_out, kernel_size, padding=padding, groups=groups,
                                dilation_rate=dilation, use_bias=False)
    expected = np.asarray(layer(x))
    actual = grouped_conv1d(tf.constant(x), tf.constant(layer.kernel.numpy()), groups, 1, padding, dilation)
    _assert_close(actual, expected, "grouped conv")


@pytest.mark.parametrize("exported", ["regression"], indirect=True)
def test_portable_tracing_switches_off_cudnn_and_xla_then_restores(exported):
    recurrent = [layer for layer in exported.model._flatten_layers() if isinstance(layer, keras.layers.LSTM)]
    assert len(recurrent) == 2 and {layer.use_cudnn for layer in recurrent} == {"auto"}  # the Bi-LSTM
    keras_call = keras.layers.Conv1D.call
    with portable_tracing([exported.model]):
        assert {layer.use_cudnn for layer in recurrent} == {False}
        assert keras.layers.Conv1D.call is not keras_call
    assert {layer.use_cudnn for layer in recurrent} == {"auto"}
    assert keras.layers.Conv1D.call is keras_call


def _saved_model_cli_signatures(path):
    cli = pathlib.Path(sys.executable).with_name("saved_model_cli")
    result = subprocess.run([str(cli), "show", "--all", "--dir", str(path)], capture_output=True, text=True,
                            timeout=1200)  # a hang guard only (the CLI answers in seconds)
    assert result.returncode == 0, result.stderr
    signatures = {}
    for block in re.split(r"\nsignature_def\['", result.stdout)[1:]:
        name = block.split("'", 1)[0]
        tensors = re.findall(r"(inputs|outputs)\['([^']+)'\] tensor_info:\s+dtype: (\w+)\s+shape: (\([^)]*\))", block)
        signatures[name] = {(kind, tensor): (dtype, shape) for kind, tensor, dtype, shape in tensors}
        signatures[name]["method"] = re.search(r"Method name is: ?(\S*)", block).group(1)
    return signatures


@pytest.mark.slow  # trains or starts a second interpreter
@pytest.mark.parametrize("exported", ["profile_count"], indirect=True)
def test_saved_model_cli_lists_the_documented_signatures(exported):
    signatures = _saved_model_cli_signatures(exported.path)
    outputs = {("outputs", name): ("DT_FLOAT", shape) for name, shape in
               [("profile", "(-1, 16)"), ("profile_probs", "(-1, 16)"), ("logcounts", "(-1, 1)"),
                ("predicted_counts", "(-1, 1)")]}
    sequence = {("inputs", "sequence"): ("DT_FLOAT", "(-1, 122, 4)")}
    dna = {("inputs", "dna"): ("DT_STRING", "(-1)")}
    method = {"method": "tensorflow/serving/predict"}
    assert {name: value for name, value in signatures.items() if not name.startswith("__")} == {
        "serving_default": {**sequence, **outputs, **method},
        "predict_dna": {**dna, **outputs, **method},
        "predict_rc_average": {**sequence, **outputs, **method},
        "predict_dna_rc_average": {**dna, **outputs, **method},
    }


def test_fold_ensemble_of_profile_models_averages_probabilities_and_counts(tmp_path):
    backbone, options = KINDS["profile_count"]
    options = dict(options, num_tasks=2)
    folds = [_tiny(backbone, "profile_count", seed=seed, **options) for seed in (11, 12)]
    path = export_saved_model(folds, tmp_path, "chrombpnet", signatures=["serving_default", "predict_rc_average"])
    loaded = tf.saved_model.load(str(path))
    _, forward, reverse = _task_inputs("profile_count", 122)
    members = [_predict(fold, forward) for fold in folds]
    assert np.abs(members[0]["logcounts"] - members[1]["logcounts"]).max() > 1e-3  # the folds differ
    _assert_outputs_close(loaded.signatures["serving_default"](sequence=tf.constant(forward)),
                          _expected_average(members, True))
    for fold in folds:
        back = _predict(fold, reverse)
        back["profile"] = _reverse_profile(back["profile"], 2)
        members.append(back)
    _assert_outputs_close(loaded.signatures["predict_rc_average"](sequence=tf.constant(forward)),
                          _expected_average(members, True))


def test_fold_ensemble_of_scalar_models_is_the_mean(tmp_path):
    folds = [_toy_model(seed, length=20) for seed in (21, 22, 23)]
    path = export_saved_model(folds, tmp_path, "starr", signatures=["serving_default"])
    forward = one_hot_encode(["ACGTTGCAACGGTTAACCGT", "tttaaaccgggNNNacgtac"], dtype=np.float32)
    members = [_predict(fold, forward) for fold in folds]
    assert np.ptp([m["Dev"][0, 0] for m in members]) > 100 * ATOL  # the folds differ
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    _assert_outputs_close(signature(sequence=tf.constant(forward)), _expected_average(members, False))


def test_fold_models_that_disagree_are_named(tmp_path):
    backbone, options = KINDS["mprann"]
    files = []
    for index, length in enumerate([230, 240]):
        files.append(tmp_path / f"fold_{index}.keras")
        _tiny(backbone, "mprann", seed=index, **dict(options, input_length=length)).save(files[-1])
    with pytest.raises(InputError, match=r"fold_1\.keras and .*fold_0\.keras differ in input shape"):
        export_saved_model(files, tmp_path / "serving", "mpra")
    assert not (tmp_path / "serving" / "mpra").exists() or not any((tmp_path / "serving" / "mpra").iterdir())


def _folder_names(model_dir):
    return sorted(child.name for child in pathlib.Path(model_dir).iterdir())


def test_versions_increment_and_are_never_overwritten(tmp_path):
    model = _toy_model()
    export = dict(signatures=["serving_default"])
    assert export_saved_model(model, tmp_path, "toy", **export) == tmp_path / "toy" / "1"
    assert export_saved_model(model, tmp_path, "toy", **export) == tmp_path / "toy" / "2"
    written = (tmp_path / "toy" / "2" / "saved_model.pb").read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(model, tmp_path, "toy", version=2, **export)
    assert (tmp_path / "toy" / "2" / "saved_model.pb").read_bytes() == written
    assert export_saved_model(model, tmp_path, "toy", version=7, **export) == tmp_path / "toy" / "7"
    assert export_saved_model(model, tmp_path, "toy", **export) == tmp_path / "toy" / "8"
    with pytest.raises(InputError, match="non-negative integer"):
        export_saved_model(model, tmp_path, "toy", version=-1, **export)
    # Only complete versions are visible: no staging folder is left behind.
    assert _folder_names(tmp_path / "toy") == ["1", "2", "7", "8"]
    assert sorted(p.name for p in (tmp_path / "toy" / "8").iterdir()) == [
        "assets", "fingerprint.pb", "saved_model.pb", "variables"]


@keras.saving.register_keras_serializable(package="dream_keras_tests")
class PythonCallback(keras.layers.Layer):
    """A layer that calls back into Python (tf.py_function): TF Serving cannot run it."""

    def call(self, x):
        y = tf.py_function(lambda t: t * 2.0, [x], tf.float32)
        return tf.ensure_shape(y, x.shape)


def test_failed_export_leaves_no_version_folder(tmp_path):
    sequence = keras.Input((8, 4), name="sequence")
    features = keras.layers.Flatten()(PythonCallback()(sequence))
    model = keras.Model(sequence, {"activity": keras.layers.Dense(1)(features)})
    # The SavedModel is written to the staging folder before its ops are checked: the failure comes
    # after writing, and must leave nothing behind.
    with pytest.raises(InputError, match="EagerPyFunc"):
        export_saved_model(model, tmp_path, "python_op", signatures=["serving_default"])
    assert _folder_names(tmp_path / "python_op") == []


@pytest.mark.slow  # trains or starts a second interpreter
def test_cli_exports_keras_files(tmp_path, capsys):
    backbone, options = KINDS["mprann"]
    model = _tiny(backbone, "mprann", seed=5, **options)
    model.save(tmp_path / "model.keras")
    base = tmp_path / "serving"
    argv = ["export", str(tmp_path / "model.keras"), "--base-dir", str(base), "--name", "mpra",
            "--signatures", "predict_rc_average", "--rc-span", "15", "215"]  # serving_default comes too
    assert main(argv) == 0
    assert str(base / "mpra" / "1") in capsys.readouterr().out
    _, forward, reverse = _task_inputs("mprann", 230)
    loaded = tf.saved_model.load(str(base / "mpra" / "1"))
    assert sorted(loaded.signatures) == ["predict_rc_average", "serving_default"]
    _assert_outputs_close(loaded.signatures["serving_default"](sequence=tf.constant(forward)),
                          _predict(model, forward))
    _assert_outputs_close(loaded.signatures["predict_rc_average"](sequence=tf.constant(forward)),
                          _expected_average([_predict(model, forward), _predict(model, reverse)], False))

    assert main(argv + ["--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.keras"), "--base-dir", str(base), "--name", "x"]) == 2
    assert "missing.keras does not exist" in capsys.readouterr().err
    assert _folder_names(base / "mpra") == ["1"]


def _documented_serving_json():
    text = (ROOT / "docs" / "tutorials" / "serving.md").read_text()
    section = text.split("## The SavedModel", 1)[1]
    return [json.loads(block) for block in re.findall(r"```json\n(.+?)\n```", section, flags=re.S)]


def _row_format(outputs, n):
    """TF Serving's REST row format: one object per instance, one list per output."""
    return [{name: np.asarray(value[i]).tolist() for name, value in outputs.items()} for i in range(n)]


def test_documented_request_bodies_run_through_the_signatures(tmp_path):
    model = _toy_model()
    loaded = tf.saved_model.load(str(export_saved_model(model, tmp_path, "deepstarr",
                                                        signatures=["serving_default", "predict_dna"])))
    bodies = _documented_serving_json()
    requests = [body for body in bodies if "instances" in body]
    (response,) = [body for body in bodies if "predictions" in body]
    assert [body.get("signature_name", "serving_default") for body in requests] == ["serving_default",
                                                                                   "predict_dna"]
    one_hot, dna = requests[0]["instances"], requests[1]["instances"]
    assert one_hot_decode(np.asarray(one_hot[0]), "ACGT") == dna[0] == "ACGTANGT"

    by_one_hot = loaded.signatures["serving_default"](sequence=tf.constant(one_hot, tf.float32))
    by_dna = loaded.signatures["predict_dna"](dna=tf.constant(dna))
    answer = _row_format(by_dna, len(dna))
    # The documented response has the shape of the real one: one object per instance, same keys, lengths.
    assert [{k: len(v) for k, v in p.items()} for p in answer] == [
        {k: len(v) for k, v in p.items()} for p in response["predictions"]]
    _assert_close(_row_format(by_one_hot, 1)[0]["Dev"], answer[0]["Dev"], "Dev")
    expected = _predict(model, one_hot_encode(dna, "ACGT", dtype=np.float32))
    _assert_close(by_dna["Hk"], expected["Hk"], "Hk")
