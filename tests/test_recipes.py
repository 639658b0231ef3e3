"""The training recipes: one-cycle schedule and optimizer (against PyTorch when installed), recipe choice, losses."""

import importlib.util
import math
import pathlib

import keras
import numpy as np
import pytest

from dream_keras.losses import SoftBinKL
from dream_keras.training.recipes import (
    RECIPES,
    OneCycleAdamW,
    OneCycleSchedule,
    ValidationMetrics,
    recipe_for,
    table_losses,
)


def test_one_cycle_start_peak_end_follow_the_formula():
    schedule = OneCycleSchedule(0.005, total_steps=1000)
    warmup_end = 0.3 * 1000 - 1  # PyTorch's phase boundary: float(pct_start * total_steps) - 1
    assert float(schedule(0)) == pytest.approx(0.005 / 25, rel=1e-6)
    assert float(schedule(warmup_end)) == pytest.approx(0.005, rel=1e-6)
    assert float(schedule(999)) == pytest.approx(0.005 / 25 / 1e4, rel=1e-4)
    # Half-way through each phase the cosine is at the middle of its two ends.
    assert float(schedule(warmup_end / 2)) == pytest.approx((0.005 / 25 + 0.005) / 2, rel=1e-5)
    middle_of_decay = warmup_end + (999 - warmup_end) / 2
    assert float(schedule(middle_of_decay)) == pytest.approx((0.005 + 0.005 / 25 / 1e4) / 2, rel=1e-5)
    # Any step: end + (start - end) / 2 * (1 + cos(pi * share)).
    step = 700
    share = (step - warmup_end) / (999 - warmup_end)
    expected = 0.005 / 25e4 + (0.005 - 0.005 / 25e4) / 2 * (1 + math.cos(math.pi * share))
    assert float(schedule(step)) == pytest.approx(expected, rel=1e-5)
    values = np.array([float(schedule(s)) for s in range(0, 1000, 7)])
    assert values.argmax() == round(warmup_end / 7)


def test_one_cycle_schedule_round_trips_through_keras_serialization():
    schedule = OneCycleSchedule(0.001, total_steps=240, pct_start=0.25)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, OneCycleSchedule)
    assert [float(restored(s)) for s in (0, 59, 100, 239)] == [float(schedule(s)) for s in (0, 59, 100, 239)]
    optimizer = OneCycleAdamW(schedule, weight_decay=0.01)
    copy = OneCycleAdamW.from_config(optimizer.get_config())
    assert copy.weight_decay == 0.01 and copy.base_momentum == 0.85 and copy.max_momentum == 0.95
    assert float(copy.learning_rate) == pytest.approx(0.001 / 25)


def _torch_trajectory(torch, w0, gradient, total):
    weights = torch.nn.Parameter(torch.tensor(w0.copy()))
    optimizer = torch.optim.AdamW([weights], lr=0.005 / 25, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.005, total_steps=total, pct_start=0.3,
                                                    div_factor=25.0, final_div_factor=1e4, anneal_strategy="cos")
    rates = []
    for step in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        weights.grad = torch.tensor(gradient(weights.detach().numpy()))
        optimizer.step()
        if step < total - 1:  # PyTorch refuses to step past total_steps
            scheduler.step()
    return np.array(rates), weights.detach().numpy()


TORCH_REFERENCE = pathlib.Path(__file__).parent / "data" / "recipes_ref" / "one_cycle_adamw_torch.npz"


def test_one_cycle_adamw_matches_pytorch_adamw_with_one_cycle_lr():
    """Against PyTorch's trajectory: recomputed when torch is installed, else the one it recorded."""
    total = 40
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=6).astype(np.float32)
    target = rng.normal(size=6).astype(np.float32)

    def gradient(w):  # of sum(k * (w - target)^2)
        return (2 * (w - target) * np.arange(1, 7)).astype(np.float32)

    recorded = np.load(TORCH_REFERENCE)
    np.testing.assert_array_equal(recorded["w0"], w0)
    torch_rates, torch_weights = recorded["rates"], recorded["weights"]
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch_rates, torch_weights = _torch_trajectory(torch, w0, gradient, total)
        np.testing.assert_allclose(torch_weights, recorded["weights"], atol=1e-6)
    schedule = OneCycleSchedule(0.005, total)
    np.testing.assert_allclose([float(schedule(s)) for s in range(total)], torch_rates, rtol=1e-5)
    variable = keras.Variable(w0.copy())
    optimizer = OneCycleAdamW(schedule, weight_decay=0.01)
    for _ in range(total):
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient(np.asarray(variable))), variable)])
    moved = np.abs(torch_weights - w0).min()
    assert moved > 0.05  # the comparison below is about real updates, not about weights left alone
    np.testing.assert_allclose(np.asarray(variable), torch_weights, atol=1e-6)
    # Keras's own AdamW (beta_1 fixed at 0.95, epsilon inside the bias correction) ends elsewhere.
    plain = keras.Variable(w0.copy())
    keras_adamw = keras.optimizers.AdamW(OneCycleSchedule(0.005, total), weight_decay=0.01, beta_1=0.95, epsilon=1e-8)
    for _ in range(total):
        keras_adamw.apply_gradients([(keras.ops.convert_to_tensor(gradient(np.asarray(plain))), plain)])
    assert np.abs(np.asarray(plain) - torch_weights).max() > 1e-5


def test_recipes_hold_the_published_settings_and_follow_the_backbone():
    dream, deepstarr, mprann = RECIPES["dream"], RECIPES["deepstarr"], RECIPES["mprann"]
    assert (dream.learning_rate, dream.per_replica_batch_size, dream.epochs, dream.weight_decay) == \
        (0.005, 1024, 80, 0.01)
    assert (dream.monitor, dream.mode, dream.patience) == ("val_pearson_r", "max", None)
    assert (deepstarr.learning_rate, deepstarr.per_replica_batch_size, deepstarr.patience) == (0.002, 128, 10)
    assert (mprann.learning_rate, mprann.per_replica_batch_size, mprann.patience) == (0.001, 32, 10)
    assert recipe_for("dream_rnn").name == "dream" and recipe_for("dream_cnn").name == "dream"
    assert recipe_for("deepstarr").name == "deepstarr" and recipe_for("mprann").name == "mprann"
    assert recipe_for("bpnet").name == "dream"
    assert recipe_for("deepstarr", "dream").name == "dream"
    assert dream.resolved(epochs=3, learning_rate=0.01).epochs == 3
    assert dream.effective_patience() == 80
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe_for("dream_rnn", "adamw")
    optimizer = dream.resolved(epochs=2).make_optimizer(steps_per_epoch=5)
    assert isinstance(optimizer, OneCycleAdamW)
    assert optimizer.get_config()["learning_rate"]["config"]["total_steps"] == 10


def test_losses_train_bins_with_kl_and_tasks_with_mse():
    losses = table_losses(["bins", "expression"], ["expression"], soft_bins=True)
    assert list(losses) == ["bins"] and isinstance(losses["bins"], SoftBinKL)
    losses = table_losses(["Dev", "Hk"], ["Dev", "Hk"], soft_bins=False)
    assert sorted(losses) == ["Dev", "Hk"]
    assert float(losses["Dev"](np.array([[1.0], [3.0]]), np.array([[2.0], [1.0]]))) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="no output for task"):
        table_losses(["activity"], ["Dev", "Hk"], soft_bins=False)


def test_validation_metrics_log_loss_per_task_and_mean_pearson():
    inputs = keras.Input((3,))
    outputs = {name: keras.layers.Dense(1, name=name)(inputs) for name in "ab"}
    model = keras.Model(inputs, outputs)
    model.compile(loss=table_losses(["a", "b"], ["a", "b"], soft_bins=False))
    x = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    predicted = model.predict(x, verbose=0)
    targets = {"a": predicted["a"][:, 0] + np.linspace(0, 1, 50), "b": -predicted["b"][:, 0]}
    callback = ValidationMetrics(x, targets, loss_targets={k: v[:, None] for k, v in targets.items()}, batch_size=16)
    callback.set_model(model)
    logs = {}
    callback.on_epoch_end(0, logs)
    expected_a = np.corrcoef(targets["a"], predicted["a"][:, 0])[0, 1]
    assert logs["val_a_pearson_r"] == pytest.approx(expected_a, abs=1e-6)
    assert logs["val_b_pearson_r"] == pytest.approx(-1.0, abs=1e-6)
    assert logs["val_pearson_r"] == pytest.approx((expected_a - 1.0) / 2, abs=1e-6)
    assert logs["val_b_spearman_r"] == pytest.approx(-1.0)
    mse = {k: np.mean((targets[k] - predicted[k][:, 0]) ** 2) for k in "ab"}
    # each task's loss is its MSE: logged once, as the loss (no val_a_mse beside val_a_loss)
    assert logs["val_a_loss"] == pytest.approx(mse["a"], rel=1e-5) and "val_a_mse" not in logs
    assert logs["val_loss"] == pytest.approx(mse["a"] + mse["b"], rel=1e-5)
    # Keras's own evaluation of the compiled losses agrees.
    assert model.evaluate(x, {k: v[:, None] for k, v in targets.items()}, verbose=0, return_dict=True)["loss"] == \
        pytest.approx(logs["val_loss"], rel=1e-5)
    # trained on something else (no loss given for the tasks), the MSE is a metric of its own
    unlogged = ValidationMetrics(x, targets, loss_targets=None, batch_size=16)
    unlogged.set_model(model)
    logs = {}
    unlogged.on_epoch_end(0, logs)
    assert logs["val_a_mse"] == pytest.approx(mse["a"], rel=1e-5)


def test_a_plug_in_backbone_states_its_recipe_on_its_registry_entry():
    from dream_keras import registry

    @registry.register_backbone("test_recipe_plug_in", default_head="regression", recipe="mprann")
    def plug_in(x):
        return x

    try:
        assert recipe_for("test_recipe_plug_in") == RECIPES["mprann"]
        assert recipe_for("test_recipe_plug_in", "deepstarr") == RECIPES["deepstarr"]
    finally:
        del registry._BACKBONES["test_recipe_plug_in"]
