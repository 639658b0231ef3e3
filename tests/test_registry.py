"""The registries: plug-ins arrive through entry points, options are routed, task names resolved."""

import subprocess
import sys

import pytest

from dream_keras import build_model
from dream_keras.heads.task_names import resolve_task_names


def test_baselines_register_through_entry_points_not_imports():
    """dream_keras never imports baselines itself; listing the backbones loads them via setup.cfg."""
    script = (
        "import sys, dream_keras\n"
        "from dream_keras import registry\n"
        "registry.get_backbone('dream_cnn'); registry.get_head('soft_bins')\n"
        "assert not any(name.startswith('baselines') for name in sys.modules), 'imported too early'\n"
        "print(dream_keras.list_backbones()); print(dream_keras.list_heads())\n"
        "print(sorted(name for name in sys.modules if name.startswith('baselines.')))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    backbones, heads, modules = result.stdout.strip().splitlines()
    assert backbones == "['bpnet', 'deepstarr', 'dream_cnn', 'dream_rnn', 'mprann']"
    assert heads == "['deepstarr', 'mprann', 'profile_count', 'regression', 'soft_bins']"
    assert modules == "['baselines.bpnet', 'baselines.deepstarr', 'baselines.mprann']"


def test_an_option_no_part_understands_names_both_parts():
    with pytest.raises(TypeError, match=r"'lstm_units'.*'bpnet'.*'profile_count'"):
        build_model("bpnet", filters=8, n_dil_layers=1, lstm_units=4)


def test_bpnet_options_reach_backbone_and_head():
    """layer_prefix goes to both parts, so the bias model's names are the official bias names."""
    model = build_model("bpnet", filters=4, n_dil_layers=2, layer_prefix="", output_length=100, input_length=300)
    names = {layer.name for layer in model.layers}
    assert {"bpnet_1st_conv", "bpnet_1conv", "bpnet_1crop", "bpnet_2conv", "bpnet_2crop", "prof_out_precrop",
            "logits_profile_predictions_preflatten", "logits_profile_predictions", "gap",
            "logcount_predictions"} <= names
    assert not any(name.startswith("wo_bias_") for name in names)
    assert model.model_options["layer_prefix"] == ""


@pytest.mark.parametrize("task_names,num_tasks,published,expected", [
    (None, None, ["Dev", "Hk"], ["Dev", "Hk"]),
    (None, 2, ["Dev", "Hk"], ["Dev", "Hk"]),
    (None, 3, ["Dev", "Hk"], ["task_0", "task_1", "task_2"]),
    (None, None, ["activity"], ["activity"]),
    (["a", "b"], None, ["activity"], ["a", "b"]),
    ("expression", 1, ["activity"], ["expression"]),
])
def test_task_names(task_names, num_tasks, published, expected):
    assert resolve_task_names("h", task_names, num_tasks, published) == expected


@pytest.mark.parametrize("task_names,num_tasks,message", [
    (["a", "b"], 3, "num_tasks=3 but task_names has 2"),
    (["a", "a"], None, "repeat"),
    (["a b"], None, "cannot name an output"),
    (None, 0, "positive"),
])
def test_bad_task_names_are_refused(task_names, num_tasks, message):
    with pytest.raises(ValueError, match=message):
        resolve_task_names("h", task_names, num_tasks, ["activity"])
