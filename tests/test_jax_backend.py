"""Keras backend neutrality: the model zoo builds, loads and predicts under ``KERAS_BACKEND=jax``.

The TensorFlow process (this one) builds a tiny model of every backbone with its original head and
with a head from another family, saves each as ``.keras`` and records its predictions on fixed
inputs. A subprocess with ``KERAS_BACKEND=jax`` (and TensorFlow still importable, but unused by
Keras) then (a) builds every pair afresh and predicts, checking the output names and shapes, and
(b) loads every ``.keras`` file written here and must reproduce the TensorFlow predictions.
"""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from dream_keras import build_model

pytestmark = [
    pytest.mark.slow,  # a second interpreter under JAX (minutes): outside `pytest -m "not slow"`
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed (pip install -e .[test])"),
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]

# (backbone, head, options): every backbone with its original head, and each crossed with another family's head.
PAIRS = [
    ("bpnet", "profile_count", {"filters": 8, "n_dil_layers": 2, "input_length": 122, "output_length": 16}),
    ("bpnet", "regression", {"filters": 8, "n_dil_layers": 2, "input_length": 60, "mapper_filters": 8}),
    ("dream_cnn", "soft_bins", {"first_filters": 8, "core_channels": [8, 4], "input_length": 40, "channels": 6}),
    ("dream_cnn", "profile_count", {"first_filters": 8, "core_channels": [8, 4], "input_length": 90,
                                    "output_length": 16}),
    ("dream_rnn", "soft_bins", {"first_filters": 8, "lstm_units": 4, "core_filters": 8, "input_length": 40,
                                "channels": 6}),
    ("dream_rnn", "deepstarr", {"first_filters": 8, "lstm_units": 4, "core_filters": 8, "input_length": 40,
                                "channels": 4, "dense_units": [8, 8]}),
    ("deepstarr", "deepstarr", {"filters": [8, 4, 4, 8], "input_length": 64, "dense_units": [8, 8]}),
    ("mprann", "mprann", {"filters": [8, 8, 8, 4], "input_length": 60, "dense_units": [8, 4]}),
    ("mprann", "regression", {"filters": [8, 8, 8, 4], "input_length": 60, "mapper_filters": 8}),
]

JAX_SCRIPT = r"""
import json, sys
import keras
import numpy as np
assert keras.backend.backend() == "jax", keras.backend.backend()
import jax
import dream_keras
from dream_keras import build_model

work = sys.argv[1]
pairs = json.load(open(work + "/pairs.json"))
report = {"backend": keras.backend.backend(), "jax_devices": [str(d) for d in jax.devices()], "built": {},
          "loaded": {}}
for key, (backbone, head, options) in pairs.items():
    model = build_model(backbone, head, **options)
    x = np.load(work + f"/{key}.npz")["x"]
    fresh = model(x, training=False)  # one eager call: predict() would compile each tiny model first
    report["built"][key] = {name: list(keras.ops.shape(value)) for name, value in fresh.items()}
    loaded = dream_keras.load_model(work + f"/{key}.keras")
    predictions = loaded(x, training=False)
    report["loaded"][key] = {name: np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64).tolist()
                             for name, value in predictions.items()}
print(json.dumps(report))
"""


def test_model_zoo_builds_loads_and_predicts_on_the_jax_backend(tmp_path):
    assert keras.backend.backend() == "tensorflow"
    expected = {}
    pairs = {}
    for index, (backbone, head, options) in enumerate(PAIRS):
        key = f"{index}_{backbone}_{head}"
        pairs[key] = (backbone, head, options)
        model = build_model(backbone, head, **options)
        rng = np.random.default_rng(index)
        channels = options.get("channels", 4)
        x = np.eye(channels, dtype="float32")[rng.integers(0, channels, size=(3, options["input_length"]))]
        expected[key] = {name: keras.ops.convert_to_numpy(value) for name, value in model(x, training=False).items()}
        np.savez(tmp_path / f"{key}.npz", x=x)
        model.save(tmp_path / f"{key}.keras")
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))

    environment = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                            env=environment, timeout=3600)  # a hang guard only
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    assert sorted(report["loaded"]) == sorted(expected)
    for key, outputs in expected.items():
        assert report["built"][key] == {name: list(value.shape) for name, value in outputs.items()}, key
        for name, value in outputs.items():
            np.testing.assert_allclose(np.array(report["loaded"][key][name]), value, rtol=1e-4, atol=1e-5,
                                       err_msg=f"{key} output {name}: JAX backend differs from TensorFlow")
