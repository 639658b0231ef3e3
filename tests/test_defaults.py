"""Each default is declared once.

The pipeline's derive from the training parameters and the nonpeak step, model sizes come from the
registry, the quickstart sets only what differs, and the zoo's ChromBPNet windows equal the data side's.
"""

import ast
import dataclasses
import inspect
import pathlib

import pytest

from data_prep import make_nonpeaks
from data_prep.windows import CHROMBPNET_INPUT_LENGTH, CHROMBPNET_MAX_JITTER, CHROMBPNET_OUTPUT_LENGTH
from dream_keras.tasks.atac.parameters import AtacTrainParameters, BiasTrainParameters
from dream_keras.tasks.atac.pipeline.parameters import PIPELINE_DEFAULTS, PipelineParameters
from dream_keras.tasks.parameter_defaults import field_default
from dream_keras.tasks.tables.parameters import TableTrainParameters

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: pipeline field -> (parameters object, its field) the default must come from
DERIVED = {name: (AtacTrainParameters, name) for name in ("input_length", "output_length", "max_jitter", "backbone",
                                                           "epochs", "patience", "lr", "batch_size", "seed")}
DERIVED["bias_epochs"] = (BiasTrainParameters, "epochs")


def _class_defaults(path: pathlib.Path, class_name: str) -> dict:
    """``{field: default expression (ast)}`` of a dataclass as written in its source file."""
    tree = ast.parse(path.read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
    return {statement.target.id: statement.value for statement in node.body
            if isinstance(statement, ast.AnnAssign) and statement.value is not None}


def test_the_pipeline_defaults_are_the_training_defaults_not_copies_of_them():
    written = _class_defaults(ROOT / "dream_keras" / "tasks" / "atac" / "pipeline" / "parameters.py",
                              "PipelineParameters")
    for name, (source, field) in DERIVED.items():
        assert PIPELINE_DEFAULTS[name] == field_default(source, field), name
        # read from there, not written again as a number or a string
        call = written[name]
        assert isinstance(call, ast.Call) and call.func.id == "field_default", (name, ast.unparse(call))
        assert [ast.unparse(argument) for argument in call.args] == [source.__name__, repr(field)], name
    # nonpeaks: the options of make_nonpeaks (ratio per train/valid peak, candidate stride)
    signature = inspect.signature(make_nonpeaks).parameters
    assert PIPELINE_DEFAULTS["nonpeak_ratio"] == signature["ratio_trainvalid"].default
    assert PIPELINE_DEFAULTS["nonpeak_stride"] == signature["stride"].default
    assert signature["input_length"].default == PIPELINE_DEFAULTS["input_length"]
    # no literal number is left among the pipeline's defaults but its own (ratio, stride are named constants)
    numbers = [name for name, value in written.items() if isinstance(value, ast.Constant)
               and isinstance(value.value, (int, float)) and not isinstance(value.value, bool)]
    assert numbers == [], numbers


def test_model_sizes_left_out_are_the_backbones_own():
    from dream_keras.registry import get_backbone

    params = PipelineParameters(genome="g.fa", peaks="p", fold="0")
    assert (params.bias_filters, params.bias_n_dil_layers, params.filters, params.n_dil_layers) == (None,) * 4
    assert params.bias_model_options() == {} and params.main_model_options() == {}
    sized = dataclasses.replace(params, bias_filters=16, n_dil_layers=3)
    assert sized.bias_model_options() == {"filters": 16} and sized.main_model_options() == {"n_dil_layers": 3}
    # what fills them in: the registry entry (the official ChromBPNet sizes for bpnet)
    bpnet = get_backbone("bpnet")
    assert (bpnet.bias_defaults["filters"], bpnet.bias_defaults["n_dil_layers"]) == (128, 4)
    assert (bpnet.defaults["filters"], bpnet.defaults["n_dil_layers"]) == (512, 8)


def test_the_quickstart_sets_only_what_differs_from_the_pipeline():
    from dream_keras.cli.quickstart import QUICKSTART, quickstart_parameters

    params = quickstart_parameters(epochs=25, bias_epochs=15)
    for name in ("input_length", "output_length", "max_jitter", "patience", "lr", "seed", "bias_threshold_factor"):
        assert getattr(params, name) == PIPELINE_DEFAULTS[name], name
    assert {"input_length", "output_length", "max_jitter", "patience", "seed"}.isdisjoint(QUICKSTART)
    assert (params.bias_filters, params.filters, params.batch_size) == (16, 32, 16)
    assert params.nonpeak_stride == CHROMBPNET_INPUT_LENGTH // 2


def test_the_zoo_and_the_data_agree_on_chrombpnet_windows():
    """Two layers (the zoo does not import data_prep), one set of numbers."""
    from dream_keras.heads.profile_count import PROFILE_COUNT_INPUT_LENGTH, PROFILE_COUNT_OUTPUT_LENGTH

    assert (PROFILE_COUNT_INPUT_LENGTH, PROFILE_COUNT_OUTPUT_LENGTH) == (CHROMBPNET_INPUT_LENGTH,
                                                                         CHROMBPNET_OUTPUT_LENGTH) == (2114, 1000)
    windows = (field_default(AtacTrainParameters, "input_length"), field_default(AtacTrainParameters, "output_length"),
               field_default(AtacTrainParameters, "max_jitter"))
    assert windows == (2114, 1000, CHROMBPNET_MAX_JITTER) == (2114, 1000, 500)


def test_table_data_preparation_takes_the_table_parameters_defaults():
    from dream_keras.tasks.tables.train import prepare_table_data

    signature = inspect.signature(prepare_table_data).parameters
    for name in ("valid_fraction", "seed", "reverse_channel"):
        assert signature[name].default == field_default(TableTrainParameters, name), name


def test_field_default_names_a_missing_or_required_field():
    with pytest.raises(KeyError, match="has no field 'epoch'"):
        field_default(AtacTrainParameters, "epoch")
    with pytest.raises(KeyError, match="genome has no default"):
        field_default(AtacTrainParameters, "genome")
    assert field_default(TableTrainParameters, "model_options") == {}
