"""``--strategy mirrored|multiworker`` for real.

Two logical CPU devices, and two worker processes on loopback, each applying the same first step as one device on the
same global batch; and a short ``dream-keras train --strategy mirrored`` run that saves loadable models.

Every run is a separate process (tests/distributed_step.py or ``python -c``): the CPU split and the
multi-worker cluster must be set up before TensorFlow starts. Timeouts make a hung collective fail
the test instead of hanging the suite.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

from data_prep.errors import InputError
from dream_keras.training.distribution import is_chief_task, read_tf_config

STEP_SCRIPT = pathlib.Path(__file__).parent / "distributed_step.py"
ROOT = pathlib.Path(__file__).parent.parent
# a hang guard only (>= 10x the normal time of the slowest run here, so that load cannot break it)
TIMEOUT_S = 1800

# trains on two logical devices and two worker processes (minutes): outside `pytest -m "not slow"`
pytestmark = pytest.mark.slow


def _environment(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CONFIG", "DREAM_KERAS_LOGICAL_CPUS")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1", **extra)
    return env


def _check(process: subprocess.CompletedProcess, what: str) -> None:
    assert process.returncode == 0, f"{what} failed:\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"


def _run_step(strategy: str, out: pathlib.Path, *extra, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STEP_SCRIPT), strategy, str(out), *extra], cwd=ROOT,
                          env=env or _environment(), capture_output=True, text=True, timeout=TIMEOUT_S)


def _steps(path: pathlib.Path) -> tuple[int, float, list, list]:
    """(replicas, loss, weights before, weight change) of one distributed_step.py run."""
    saved = np.load(path)
    count = len([key for key in saved.files if key.startswith("before_")])
    before = [saved[f"before_{i}"] for i in range(count)]
    change = [saved[f"after_{i}"] - saved[f"before_{i}"] for i in range(count)]
    return int(saved["replicas"]), float(saved["loss"]), before, change


def _assert_same_step(reference, other) -> None:
    """Same starting weights, and the same applied gradient to 1e-5 of the step's largest entry."""
    _, ref_loss, ref_before, ref_change = reference
    _, loss, before, change = other
    assert len(change) == len(ref_change) == 10
    for start, ref_start in zip(before, ref_before):
        np.testing.assert_array_equal(start, ref_start)
    scale = max(float(np.abs(c).max()) for c in ref_change)
    assert scale > 1.0  # a real step (SGD, learning rate 1): the weight change is minus the gradient
    for delta, ref_delta in zip(change, ref_change):
        assert np.abs(delta - ref_delta).max() <= 1e-5 * scale
    assert loss == pytest.approx(ref_loss, rel=1e-5)


@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    out = tmp_path_factory.mktemp("step") / "default.npz"
    _check(_run_step("default", out), "single-device step")
    return _steps(out)


def test_mirrored_over_two_logical_cpus_applies_the_single_device_step(single_device, tmp_path):
    out = tmp_path / "mirrored.npz"
    _check(_run_step("mirrored", out, "2"), "mirrored step")
    mirrored = _steps(out)
    assert mirrored[0] == 2
    _assert_same_step(single_device, mirrored)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _run_two_workers(tmp_path: pathlib.Path) -> tuple[list[int | None], list[str]]:
    """Run distributed_step.py as the two workers of a loopback cluster; (return codes, outputs).

    Each worker writes to its own log file, not a pipe: a worker blocked on a full pipe that nobody
    reads (while the test waits on the other) would stall the collective and hang both.
    """
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers, logs = [], []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        command = [sys.executable, str(STEP_SCRIPT), "multiworker", str(tmp_path / f"w{index}.npz")]
        log = open(tmp_path / f"w{index}.log", "w")
        logs.append(log)
        workers.append(subprocess.Popen(command, cwd=ROOT, env=_environment(TF_CONFIG=tf_config), stdout=log,
                                        stderr=subprocess.STDOUT, text=True))
    try:
        for worker in workers:
            try:
                worker.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                break
    finally:
        for worker, log in zip(workers, logs):
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            log.close()
    codes = [worker.returncode for worker in workers]
    return codes, [(tmp_path / f"w{index}.log").read_text()[-3000:] for index in range(2)]


def test_multiworker_two_processes_on_loopback_apply_the_single_device_step(single_device, tmp_path):
    codes, outputs = _run_two_workers(tmp_path)
    if codes != [0, 0]:
        # A port taken between choosing it and the workers binding it stalls the cluster: one retry
        # on fresh ports; a real failure fails twice.
        codes, outputs = _run_two_workers(tmp_path)
    for code, output in zip(codes, outputs):
        assert code == 0, output
    first, second = _steps(tmp_path / "w0.npz"), _steps(tmp_path / "w1.npz")
    assert first[0] == second[0] == 2
    _assert_same_step(single_device, first)
    for delta, other in zip(first[3], second[3]):
        np.testing.assert_array_equal(delta, other)  # both workers hold the same weights


def test_tf_config_is_checked_and_names_the_fix():
    with pytest.raises(InputError, match="TF_CONFIG environment variable, which is not set"):
        read_tf_config({})
    with pytest.raises(InputError, match="not valid JSON"):
        read_tf_config({"TF_CONFIG": "{cluster"})
    with pytest.raises(InputError, match="is not in its cluster"):
        read_tf_config({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker",
                                                                                           "index": 1}})})
    two = {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}
    assert read_tf_config({"TF_CONFIG": json.dumps(two)}) == two
    assert not is_chief_task(two)
    assert is_chief_task({**two, "task": {"type": "worker", "index": 0}})
    assert not is_chief_task({"cluster": {"chief": ["c:1"], **two["cluster"]}, "task": {"type": "worker", "index": 0}})


CLI_RUN = """
import sys
from dream_keras.training.distribution import split_cpu
split_cpu(2)  # before anything starts TensorFlow (building the bias model below would)
from bias_models import build_bias_model
from dream_keras.cli import main

data, out = sys.argv[1], sys.argv[2]
assert main(["prep", "nonpeaks", "--genome", data + "/genome.fa", "--peaks", data + "/peaks.narrowPeak", "--fold", "0",
             "--fold-dir", data + "/folds", "--out", out + "/nonpeaks.narrowPeak", "--input-length", "512",
             "--stride", "256", "--ratio", "4"]) == 0
build_bias_model(512, 256, filters=2, n_dil_layers=1).save(out + "/bias.keras")  # untrained: only its shape matters
assert main(["train", "--genome", data + "/genome.fa", "--bigwig", data + "/tn5_insertions.bw", "--peaks",
             data + "/peaks.narrowPeak", "--nonpeaks", out + "/nonpeaks.narrowPeak", "--fold-dir", data + "/folds",
             "--fold", "0", "--input-length", "512", "--output-length", "256", "--filters", "4", "--n-dil-layers", "1",
             "--epochs", "1", "--batch-size", "16", "--strategy", "mirrored", "--bias-model", out + "/bias.keras",
             "--max-jitter", "32", "--out", out + "/main"]) == 0
"""


def test_train_with_strategy_mirrored_saves_models_that_load(data_dir, tmp_path):
    run = subprocess.run([sys.executable, "-c", CLI_RUN, str(data_dir / "atac_mm10"), str(tmp_path)], cwd=ROOT,
                         env=_environment(DREAM_KERAS_LOGICAL_CPUS="2"), capture_output=True, text=True,
                         timeout=TIMEOUT_S)
    _check(run, "dream-keras train --strategy mirrored")
    for folder in ("main",):
        record = json.loads((tmp_path / folder / "logs" / "run.json").read_text())
        assert record["parameters"]["strategy"] == "mirrored"
        assert record["parameters"]["batch_size"] == 16
        assert record["distribution"]["replicas"] == 2
        assert record["distribution"]["global_batch_size"] == 32
        assert record["distribution"]["devices"] == ["/device:CPU:0", "/device:CPU:1"]

    import dream_keras

    models = tmp_path / "main" / "models"
    combined, nobias, bias = (dream_keras.load_model(models / name)
                              for name in ("model.keras", "model_nobias.keras", "bias_scaled.keras"))
    sequences = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (8, 512))]
    predicted = {name: model.predict(sequences, verbose=0) for name, model in
                 (("combined", combined), ("nobias", nobias), ("bias", bias))}
    assert predicted["combined"]["profile"].shape == (8, 256)
    # The saved factorised model is the saved bias-free model plus the saved scaled bias model.
    np.testing.assert_allclose(predicted["combined"]["logcounts"],
                               np.logaddexp(predicted["nobias"]["logcounts"], predicted["bias"]["logcounts"]),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(predicted["combined"]["profile"],
                               predicted["nobias"]["profile"] + predicted["bias"]["profile"], rtol=1e-5, atol=1e-5)
    log = (tmp_path / "main" / "logs" / "training_log.csv").read_text().splitlines()
    assert len(log) == 2  # header + the one epoch
