"""Official ChromBPNet .h5 files load into our parts and predict the official numbers.

Fixtures (tests/data/chrombpnet_ref, see its PROVENANCE.txt): a small official configuration
(bias model 16 filters / 2 dilated layers, ChromBPNet 32 / 8, input 2,114, output 1,000) with the
official predictions on six one-hot inputs.
"""

import shutil

import h5py
import keras
import numpy as np
import pytest

from baselines.chrombpnet import load_official_h5, read_official_h5
from bias_models import BiasFactorizedModel, without_bias
from data_prep.errors import InputError
from dream_keras import SequenceModel
from dream_keras.cli import main as cli_main

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

FILES = {"bias": "small_bias.h5", "nobias": "small_chrombpnet_nobias.h5", "chrombpnet": "small_chrombpnet.h5"}
# Official parameter counts (small_golden.json "params").
PARAMS = {"bias": 4146, "nobias": 29986, "chrombpnet": 34132}


@pytest.fixture(scope="module")
def reference(data_dir):
    return np.load(data_dir / "chrombpnet_ref" / "small_golden.npz")


def _predict(model, x):
    return {name: keras.ops.convert_to_numpy(value) for name, value in model(x, training=False).items()}


def _assert_matches_golden(outputs, reference, golden):
    np.testing.assert_allclose(outputs["profile"], reference[f"{golden}_logits"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(outputs["logcounts"], reference[f"{golden}_logcounts"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("golden", list(FILES))
def test_official_files_predict_the_official_numbers(data_dir, reference, golden):
    model = load_official_h5(data_dir / "chrombpnet_ref" / FILES[golden])
    _assert_matches_golden(_predict(model, reference["sequence_onehot"]), reference, golden)
    assert model.count_params() == PARAMS[golden]
    assert model.inputs[0].name == "sequence"
    assert (model.input_length, model.channels, model.alphabet, model.head_name) == (2114, 4, "ACGT", "profile_count")
    assert model.backbone_name == "bpnet"


def test_inferred_architectures(data_dir):
    folder = data_dir / "chrombpnet_ref"
    (bias,) = read_official_h5(folder / FILES["bias"])
    (nobias,) = read_official_h5(folder / FILES["nobias"])
    combined = read_official_h5(folder / FILES["chrombpnet"])
    common = {"input_length": 2114, "output_length": 1000, "num_tasks": 1, "channels": 4}
    assert bias.options == {"filters": 16, "n_dil_layers": 2, "layer_prefix": "", **common}
    assert nobias.options == {"filters": 32, "n_dil_layers": 8, "layer_prefix": "wo_bias_", **common}
    assert [part.name for part in combined] == ["model_wo_bias", "model"]
    assert [part.options for part in combined] == [nobias.options, bias.options]


def test_combined_file_is_bias_factorised_with_a_frozen_bias(data_dir, reference):
    model = load_official_h5(data_dir / "chrombpnet_ref" / FILES["chrombpnet"])
    assert isinstance(model, BiasFactorizedModel)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert (trainable, frozen) == (PARAMS["nobias"], PARAMS["bias"])
    nobias = without_bias(model)
    assert isinstance(nobias, SequenceModel)
    _assert_matches_golden(_predict(nobias, reference["sequence_onehot"]), reference, "nobias")
    _assert_matches_golden(_predict(model.bias_model, reference["sequence_onehot"]), reference, "bias")


def _not_chrombpnet_files(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not an HDF5 file\n")
    random_h5 = tmp_path / "random.h5"
    with h5py.File(random_h5, "w") as handle:
        handle["values"] = np.arange(10.0)
    other = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, name="dense_a"), keras.layers.Dense(1)])
    other_h5 = tmp_path / "other_architecture.h5"
    other.save(other_h5)
    keras_zip = tmp_path / "model.keras"
    other.save(keras_zip)
    return {"text": (text, "not an HDF5 file"), "random": (random_h5, "not a Keras model file"),
            "other": (other_h5, "has no BPNet first convolution"), "keras3": (keras_zip, "Keras 3 .keras file"),
            "missing": (tmp_path / "absent.h5", "does not exist")}


@pytest.mark.parametrize("kind", ["text", "random", "other", "keras3", "missing"])
def test_files_that_are_not_chrombpnet_give_a_clear_error(tmp_path, kind):
    path, reason = _not_chrombpnet_files(tmp_path)[kind]
    with pytest.raises(InputError) as caught:
        load_official_h5(path)
    message = str(caught.value)
    assert str(path) in message and reason in message
    assert "ChromBPNet" in message or kind == "keras3"


def test_a_file_missing_a_layer_names_it(data_dir, tmp_path):
    broken = tmp_path / "bias_without_counts.h5"
    shutil.copy(data_dir / "chrombpnet_ref" / FILES["bias"], broken)
    with h5py.File(broken, "r+") as handle:
        del handle["model_weights/bpnet_2conv"]
    with pytest.raises(InputError, match=r"bias_without_counts\.h5 has no weights for layer bpnet_2conv"):
        load_official_h5(broken)


@pytest.mark.parametrize("golden", ["bias", "chrombpnet"])
def test_import_command_writes_a_keras_file_that_predicts_the_same(data_dir, reference, tmp_path, golden):
    output = tmp_path / "out" / f"{golden}.keras"
    assert cli_main(["import-chrombpnet", str(data_dir / "chrombpnet_ref" / FILES[golden]), str(output)]) == 0
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]  # no temporary file left
    reloaded = keras.models.load_model(output)
    _assert_matches_golden(_predict(reloaded, reference["sequence_onehot"]), reference, golden)
    assert reloaded.count_params() == PARAMS[golden]
    if golden == "chrombpnet":
        assert isinstance(reloaded, BiasFactorizedModel) and not reloaded.bias_model.trainable
        assert sum(int(np.prod(w.shape)) for w in reloaded.non_trainable_weights) == PARAMS["bias"]


def test_import_command_reports_bad_inputs(data_dir, tmp_path, capsys):
    output = tmp_path / "model.keras"
    not_h5 = tmp_path / "notes.txt"
    not_h5.write_text("hello\n")
    assert cli_main(["import-chrombpnet", str(not_h5), str(output)]) == 2
    assert "not an HDF5 file" in capsys.readouterr().err and not output.exists()
    bias = str(data_dir / "chrombpnet_ref" / FILES["bias"])
    assert cli_main(["import-chrombpnet", bias, str(tmp_path / "model.h5")]) == 2
    assert "must end in .keras" in capsys.readouterr().err
    output.write_text("keep me")
    assert cli_main(["import-chrombpnet", bias, str(output)]) == 2
    assert "--overwrite" in capsys.readouterr().err and output.read_text() == "keep me"
