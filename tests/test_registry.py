"""The registries: plug-ins arrive through entry points, options are routed, task names resolved."""

import os
import pathlib
import subprocess
import sys

import pytest

from dream_keras import build_model
from dream_keras.heads.task_names import resolve_task_names

ROOT = pathlib.Path(__file__).resolve().parents[1]


# a hang guard only: each script below runs in about 10 s
HANG_GUARD_S = 600


def _run(script: str, *, pythonpath: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (pythonpath, str(ROOT)) if p))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=HANG_GUARD_S)


@pytest.mark.slow  # trains or starts a second interpreter
def test_built_in_models_register_in_package_without_entry_points():
    """A checkout that is not pip-installed has no entry points: the built-in models are still found."""
    script = (
        "import importlib.metadata\n"
        "importlib.metadata.entry_points = lambda **kw: []  # as in a checkout that is not pip-installed\n"
        "import dream_keras\n"
        "print(dream_keras.list_backbones()); print(dream_keras.list_heads())\n"
        "model = dream_keras.build_model('bpnet', filters=4, n_dil_layers=1, input_length=300, output_length=100)\n"
        "print(sorted(model.output))\n"
        "dream_keras.load_plugins()\n"
        "import keras\n"
        "print(keras.saving.get_registered_object('dream_keras>BiasFactorizedModel') is not None)\n")
    result = _run(script)
    assert result.returncode == 0, result.stderr[-3000:]
    backbones, heads, outputs, factorised = result.stdout.strip().splitlines()
    assert backbones == "['bpnet', 'deepstarr', 'dream_cnn', 'dream_rnn', 'mprann']"
    assert heads == "['deepstarr', 'mprann', 'profile_count', 'regression', 'soft_bins']"
    assert outputs == "['logcounts', 'profile']" and factorised == "True"


@pytest.mark.slow  # trains or starts a second interpreter
def test_a_plug_in_backbone_arrives_through_its_entry_point(tmp_path):
    """A third-party package's ``dream_keras.backbones`` entry point (a builder function) is found."""
    (tmp_path / "toy_plugin.py").write_text(
        "import keras\n\n\ndef toy_tower(x, width: int = 3):\n"
        "    return keras.layers.Conv1D(width, 5, padding='same', name='toy_conv')(x)\n")
    info = tmp_path / "toy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[dream_keras.backbones]\ntoy = toy_plugin:toy_tower\n")
    script = (
        "import dream_keras\n"
        "assert 'toy' in dream_keras.list_backbones()\n"
        "model = dream_keras.build_model('toy', 'regression', input_length=20, channels=4, width=2)\n"
        "print(model.get_layer('toy_conv').filters, sorted(model.output))\n")
    result = _run(script, pythonpath=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "2 ['activity']"


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
