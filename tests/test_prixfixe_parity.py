"""DREAM-CNN and DREAM-RNN compute what the original PyTorch Prix Fixe blocks compute.

``tests/data/prixfixe_ref/`` holds outputs of the original PyTorch code (BHI first block, Autosome
core or BHI Bi-LSTM core, Autosome soft-bin or two-task regression final block) for the published
sizes, with every weight set by :func:`deterministic_weights` (no random generator, so the same
numbers on any machine) and converted to PyTorch's layouts; see the folder's PROVENANCE.txt. Equal
outputs pin what parameter counts cannot: channel grouping, concatenation order, squeeze-excitation
placement, LSTM gate order and direction alignment, BatchNorm in inference mode.
"""

import numpy as np
import pytest

from dream_keras import build_model

CASES = {
    "cnn_soft_bins": ("dream_cnn", "soft_bins", {"input_length": 50, "channels": 6}),
    "rnn_soft_bins": ("dream_rnn", "soft_bins", {"input_length": 50, "channels": 6}),
    "cnn_regression": ("dream_cnn", "regression", {"input_length": 50, "channels": 5, "task_names": ["Dev", "Hk"]}),
}


def deterministic_weights(model):
    """Set every weight of ``model`` from a sine sequence keyed by the weight's path.

    Kernels: ``sin(...) * sqrt(3 / fan_in)``; BatchNorm scale and moving variance ``1 + 0.4 sin(...)``;
    shifts, moving means and biases ``0.1 sin(...)``.
    """
    for weight in model.weights:
        shape = tuple(weight.shape)
        offset = sum(map(ord, weight.path)) % 997
        wave = np.sin(np.arange(int(np.prod(shape)), dtype="float64") * 0.6180339887 + offset).reshape(shape)
        leaf = weight.path.rsplit("/", 1)[-1]
        if leaf in ("gamma", "moving_variance"):
            values = 1 + 0.4 * wave
        elif leaf in ("beta", "moving_mean", "bias"):
            values = 0.1 * wave
        else:
            values = wave * np.sqrt(3 / np.prod(shape[:-1]))
        weight.assign(values.astype("float32"))


@pytest.fixture(scope="module")
def reference(data_dir):
    return np.load(data_dir / "prixfixe_ref" / "prixfixe_outputs.npz")


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_the_pytorch_original(reference, case):
    backbone, head, options = CASES[case]
    model = build_model(backbone, head, **options)
    deterministic_weights(model)
    outputs = model(reference[f"{case}:x"], training=False)
    names = sorted(outputs)
    assert names == sorted(key.split(":", 2)[2] for key in reference.files if key.startswith(f"{case}:out:"))
    for name in names:
        expected = reference[f"{case}:out:{name}"]
        np.testing.assert_allclose(np.asarray(outputs[name]), expected, rtol=1e-5, atol=1e-5, err_msg=name)
