"""One seeding for every training run, so that a run with the same seed and inputs repeats."""

from __future__ import annotations


def seed_everything(seed: int) -> None:
    """Seed everything, and ask TensorFlow for deterministic kernels.

    Seed Python, numpy and the backend, and ask TensorFlow for deterministic kernels, so that a run with the same seed
    and inputs repeats exactly on CPU.

    Op determinism is process-wide and stays on afterwards (TensorFlow has no way back).
    """
    import keras

    keras.utils.set_random_seed(int(seed))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
