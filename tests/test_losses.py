"""dream_keras.losses: parity with the official ChromBPNet losses, with scipy, and the soft-bin KL."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import gammaln, rel_entr
from scipy.stats import multinomial

from dream_keras import losses

REF = pathlib.Path(__file__).parent / "data" / "chrombpnet_ref"


@pytest.fixture(scope="module")
def golden(chrombpnet_golden):
    return chrombpnet_golden("small_golden")


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_log_gamma_matches_scipy_from_fractions_to_millions():
    x = np.concatenate([
        np.float32([0.25, 0.5, 1.0, 1.5, 2.0, 7.99, 8.0, 8.01]),
        np.arange(1, 300, dtype=np.float32),
        np.float32([1e3, 12345.5, 1e5, 2.5e6]),
    ])
    expected = gammaln(x.astype(np.float64))
    got = _numpy(losses.log_gamma(x)).astype(np.float64)
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=3e-6)


def test_multinomial_nll_reproduces_official_chrombpnet_value(golden):
    arrays, values = golden
    nll = float(losses.multinomial_nll(arrays["true_counts"], arrays["chrombpnet_logits"]))
    assert nll == pytest.approx(values["multinomial_nll_chrombpnet"], rel=1e-4)
    # The Loss class with its default reduction averages over the batch the same way.
    nll_class = float(losses.MultinomialNLL()(arrays["true_counts"], arrays["chrombpnet_logits"]))
    assert nll_class == pytest.approx(values["multinomial_nll_chrombpnet"], rel=1e-4)


def test_logcount_mse_and_total_loss_reproduce_official_values(golden):
    arrays, values = golden
    mse = float(losses.logcount_mse(arrays["true_counts"], arrays["chrombpnet_logcounts"]))
    assert mse == pytest.approx(values["logcount_mse_chrombpnet"], rel=1e-4)
    total = float(losses.chrombpnet_total_loss(
        arrays["true_counts"], arrays["chrombpnet_logits"], arrays["chrombpnet_logcounts"],
        values["counts_loss_weight"],
    ))
    assert total == pytest.approx(values["total_loss"], rel=1e-4)


def test_compile_losses_give_official_total_on_pipeline_targets(golden):
    arrays, values = golden
    loss, loss_weights = losses.chrombpnet_loss(values["counts_loss_weight"])
    assert set(loss) == set(loss_weights) == {"profile", "logcounts"}
    assert loss_weights == {"profile": 1.0, "logcounts": 7.5}
    # The pipelines' logcounts target is log(1 + total counts), shape (batch, 1).
    logcount_target = np.log1p(arrays["true_counts"].sum(axis=1, keepdims=True))
    total = (
        loss_weights["profile"] * float(loss["profile"](arrays["true_counts"], arrays["chrombpnet_logits"]))
        + loss_weights["logcounts"] * float(loss["logcounts"](logcount_target, arrays["chrombpnet_logcounts"]))
    )
    assert total == pytest.approx(values["total_loss"], rel=1e-4)


@pytest.mark.parametrize("weight", [0, -1.0, float("nan")])
def test_chrombpnet_loss_rejects_non_positive_weight(weight):
    with pytest.raises(ValueError, match="counts_loss_weight"):
        losses.chrombpnet_loss(weight)


def test_multinomial_nll_per_example_matches_scipy_logpmf():
    rng = np.random.default_rng(7)
    logits = rng.normal(scale=2.0, size=(5, 40))
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    totals = np.array([0, 1, 17, 250, 3000])
    counts = np.stack([rng.multinomial(n, p) for n, p in zip(totals, probabilities)]).astype(np.float32)
    expected = -np.array([multinomial.logpmf(c, n, p) for c, n, p in zip(counts, totals, probabilities)])
    per_example = _numpy(losses.MultinomialNLL(reduction=None)(counts, logits.astype(np.float32)))
    np.testing.assert_allclose(per_example, expected, rtol=1e-5, atol=1e-3)
    assert float(losses.multinomial_nll(counts, logits.astype(np.float32))) == pytest.approx(expected.mean(), rel=1e-5)


def test_multinomial_nll_runs_in_a_compiled_tensorflow_graph(golden):
    arrays, values = golden
    compiled = tf.function(losses.multinomial_nll, jit_compile=False)
    assert float(compiled(arrays["true_counts"], arrays["chrombpnet_logits"])) == pytest.approx(
        values["multinomial_nll_chrombpnet"], rel=1e-4
    )


def test_soft_bin_kl_is_zero_for_equal_distributions_with_empty_bins():
    target = np.zeros((3, 18), dtype=np.float32)
    target[0, :2] = 0.5
    target[1, 5] = 1.0
    target[2] = np.linspace(1, 18, 18) / np.linspace(1, 18, 18).sum()
    assert float(losses.SoftBinKL()(target, target)) == pytest.approx(0.0, abs=1e-6)


def test_soft_bin_kl_hand_computed_and_batch_averaged():
    target = np.zeros((2, 18), dtype=np.float32)
    predicted = np.full((2, 18), 0.0, dtype=np.float32)
    target[0, :2] = [0.5, 0.5]
    predicted[0, :2] = [0.25, 0.75]
    target[1, 3] = 1.0
    predicted[1, 3:5] = [0.5, 0.5]
    first = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    second = np.log(1.0 / 0.5)
    per_example = _numpy(losses.SoftBinKL(reduction=None)(target, predicted))
    np.testing.assert_allclose(per_example, [first, second], rtol=1e-6)
    assert float(losses.SoftBinKL()(target, predicted)) == pytest.approx((first + second) / 2, rel=1e-6)


def test_soft_bin_kl_from_logits_matches_scipy_relative_entropy():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 18))
    predicted = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    target = rng.dirichlet(np.full(18, 0.3), size=4)
    target[:, ::3] = 0.0  # empty bins, as the truncated normal targets have far from the mean
    target /= target.sum(axis=1, keepdims=True)
    expected = rel_entr(target, predicted).sum(axis=1)
    from_logits = _numpy(losses.SoftBinKL(from_logits=True, reduction=None)(target, logits))
    from_probabilities = _numpy(losses.SoftBinKL(reduction=None)(target, predicted))
    np.testing.assert_allclose(from_logits, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(from_probabilities, expected, rtol=1e-5, atol=1e-6)


def test_soft_bin_kl_gradient_finite_where_target_and_prediction_are_zero():
    target = tf.constant([[0.0, 0.3, 0.7] + [0.0] * 15])
    predicted = tf.Variable([[0.0, 0.5, 0.5] + [0.0] * 15])
    with tf.GradientTape() as tape:
        value = losses.SoftBinKL()(target, predicted)
    gradient = tape.gradient(value, predicted).numpy()
    assert np.isfinite(float(value)) and np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient[0, 1:3], [-0.3 / 0.5, -0.7 / 0.5], rtol=1e-6)
    assert gradient[0, 0] == 0.0


@pytest.mark.parametrize(
    "loss",
    [
        losses.MultinomialNLL(),
        losses.MultinomialNLL(reduction="sum", name="profile_nll"),
        losses.SoftBinKL(),
        losses.SoftBinKL(from_logits=True, reduction=None, name="bins_kl"),
    ],
    ids=["nll", "nll-sum", "kl", "kl-logits"],
)
def test_losses_round_trip_through_keras_serialization(loss):
    serialized = keras.saving.serialize_keras_object(loss)
    assert serialized["registered_name"].startswith("dream_keras>")
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()
    rng = np.random.default_rng(0)
    y_true = rng.dirichlet(np.ones(18), size=3).astype(np.float32) * (10 if "nll" in loss.name else 1)
    y_pred = rng.normal(size=(3, 18)).astype(np.float32)
    if isinstance(loss, losses.SoftBinKL) and not loss.from_logits:
        y_pred = np.exp(y_pred) / np.exp(y_pred).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(_numpy(restored(y_true, y_pred)), _numpy(loss(y_true, y_pred)), rtol=1e-6)


JAX_SCRIPT = r"""
import json, sys
import jax, numpy as np
from dream_keras import losses
ref = sys.argv[1]
arrays = np.load(ref + "/small_golden.npz")
values = json.load(open(ref + "/small_golden.json"))
total = jax.jit(lambda t, l, c: losses.chrombpnet_total_loss(t, l, c, 7.5))(
    arrays["true_counts"], arrays["chrombpnet_logits"], arrays["chrombpnet_logcounts"])
kl = jax.jit(lambda p, q: losses.SoftBinKL()(p, q))(np.eye(18)[:2] * 0.5 + 0.5 / 18, np.full((2, 18), 1 / 18))
print(json.dumps({"total": float(total), "expected": values["total_loss"], "kl": float(kl)}))
"""


@pytest.mark.slow  # trains or starts a second interpreter
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_losses_run_jit_compiled_on_the_jax_backend():
    environment = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(REF)], capture_output=True, text=True, env=environment,
        timeout=3000,  # a hang guard only
    )
    assert result.returncode == 0, result.stderr[-3000:]
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    assert numbers["total"] == pytest.approx(numbers["expected"], rel=1e-4)
    p = np.eye(18)[0] * 0.5 + 0.5 / 18
    assert numbers["kl"] == pytest.approx(float(rel_entr(p, np.full(18, 1 / 18)).sum()), rel=1e-5)
