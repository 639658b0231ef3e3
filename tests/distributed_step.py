"""One SGD step (learning rate 1) of a tiny bias-factorised bpnet under a strategy; run as a script.

``python tests/distributed_step.py STRATEGY OUT.npz [LOGICAL_CPUS]`` trains one step with
``model.fit`` on a fixed global batch of 8 examples with ChromBPNet's loss, and writes the
trainable weights before and after the step (the change is minus the gradient actually applied).
tests/test_distribution.py compares these files across strategies. A separate process per run,
because the CPU split into logical devices and the multi-worker cluster must be set up before
TensorFlow starts.
"""

import sys

import numpy as np

INPUT_LENGTH, OUTPUT_LENGTH, GLOBAL_BATCH = 256, 128, 8


def global_batch():
    """A fixed global batch: one-hot sequences, Poisson profile counts and their log(1 + total)."""
    rng = np.random.default_rng(7)
    sequences = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (GLOBAL_BATCH, INPUT_LENGTH))]
    profile = rng.poisson(rng.uniform(0.05, 2.0, (GLOBAL_BATCH, 1)), (GLOBAL_BATCH, OUTPUT_LENGTH)).astype(np.float32)
    logcounts = np.log1p(profile.sum(axis=1, keepdims=True)).astype(np.float32)
    return sequences, {"profile": profile, "logcounts": logcounts}


def main(strategy_name: str, out: str, logical_cpus: str | None = None) -> None:
    from dream_keras.training.distribution import make_strategy

    plan = make_strategy(strategy_name, logical_cpu_devices=int(logical_cpus) if logical_cpus else None)

    import keras
    import tensorflow as tf

    from bias_models import build_bias_model, with_bias
    from dream_keras.losses import chrombpnet_loss
    from dream_keras.model import build_model

    sequences, targets = global_batch()
    with plan.scope():
        keras.utils.set_random_seed(3)
        model = build_model("bpnet", "profile_count", input_length=INPUT_LENGTH, output_length=OUTPUT_LENGTH,
                            filters=4, n_dil_layers=2)
        bias = build_bias_model(INPUT_LENGTH, OUTPUT_LENGTH, filters=2, n_dil_layers=1)
        combined = with_bias(model, bias)
        loss, loss_weights = chrombpnet_loss(2.5)
        combined.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss=loss, loss_weights=loss_weights)
        plan.prepare_model(combined)
        before = [np.array(w) for w in combined.trainable_weights]
        dataset = plan.prepare_dataset(tf.data.Dataset.from_tensors((sequences, targets)))
        history = combined.fit(dataset, epochs=1, verbose=0)
    after = [np.array(w) for w in combined.trainable_weights]
    np.savez(out, replicas=plan.replicas, loss=history.history["loss"][0],
             **{f"before_{i}": w for i, w in enumerate(before)}, **{f"after_{i}": w for i, w in enumerate(after)})


if __name__ == "__main__":
    main(*sys.argv[1:])
