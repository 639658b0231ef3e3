"""The command line answers without importing TensorFlow or Keras where it does not need them.

Each check runs a fresh interpreter under ``python -X importtime`` and reads the modules it
imported from that report; no check measures time (speed figures come from ``benchmarks/``).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUNDLED_ATAC = ROOT / "data_prep" / "data" / "atac_mm10"
# a hang guard only: these commands take about 1 s; a loaded machine stays far below this
HANG_GUARD_S = 300


def _imported_modules(*argv: str) -> tuple[set[str], subprocess.CompletedProcess]:
    """Top-level names of every module ``python -X importtime -m dream_keras.cli ARGV`` imported."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.run([sys.executable, "-X", "importtime", "-m", "dream_keras.cli", *argv], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    names = set()
    for line in process.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names, process


@pytest.mark.parametrize("argv", [["--help"], ["prep", "splits", "--help"], ["train", "--help"],
                                  ["bias", "train", "--help"], ["predict", "--help"], ["quickstart", "--help"],
                                  ["motifs", "--help"]])
def test_help_imports_neither_tensorflow_nor_keras(argv):
    names, process = _imported_modules(*argv)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "usage: dream-keras" in process.stdout
    assert "dream_keras" in names  # the report was read (it lists our own package)
    assert not {"tensorflow", "keras"} & names, sorted({"tensorflow", "keras"} & names)


def test_prep_splits_runs_without_tensorflow_or_keras(tmp_path):
    out = tmp_path / "fold.json"
    names, process = _imported_modules("prep", "splits", "--chrom-sizes", str(BUNDLED_ATAC / "chrom.sizes"),
                                       "--test", "chr17_seg1", "--valid", "chr17_seg2", "--out", str(out))
    assert process.returncode == 0, process.stderr[-3000:]
    assert json.loads(out.read_text()) == json.loads((BUNDLED_ATAC / "folds" / "fold_0.json").read_text())
    assert "data_prep" in names
    assert not {"tensorflow", "keras"} & names, sorted({"tensorflow", "keras"} & names)


@pytest.mark.slow  # trains or starts a second interpreter
def test_first_use_of_a_public_name_loads_keras_and_registers_the_model():
    code = ("import sys, dream_keras; assert 'keras' not in sys.modules; "
            "m = dream_keras.build_model('deepstarr', input_length=249); "
            "import keras; print(keras.saving.get_registered_object('dream_keras>SequenceModel') is type(m))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=HANG_GUARD_S)
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.strip() == "True"
