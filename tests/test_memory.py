"""The memory savings of the training run keep its numbers.

Metrics scored in chunks of regions equal the whole-array computation, and predicting only the log-counts gives the same
log-counts.
"""

import numpy as np

from dream_keras import metrics
from dream_keras.interpret.predict import predict_outputs


def test_chunked_metrics_equal_whole_array_metrics():
    rng = np.random.default_rng(0)
    n = 2 * metrics._ROWS_PER_CHUNK + 37  # three chunks, the last one short
    counts = rng.poisson(0.3, size=(n, 50)).astype(np.float32)
    counts[5] = 0  # a region without counts: NaN distances
    logits = rng.normal(size=(n, 50)).astype(np.float32)
    logcounts = rng.normal(size=n).astype(np.float32)
    true_logcounts, _, jsd, norm_jsd = metrics._profile_count_arrays(counts, logits, logcounts)
    whole_jsd, whole_norm = metrics.profile_jsd(counts.astype(np.float64), metrics._softmax(logits))
    np.testing.assert_array_equal(jsd, whole_jsd)
    np.testing.assert_array_equal(norm_jsd, whole_norm)
    np.testing.assert_array_equal(true_logcounts, np.log1p(counts.astype(np.float64).sum(axis=1)))
    assert np.isnan(jsd[5]) and np.isfinite(jsd[6])


def test_predict_outputs_keeps_only_the_named_outputs():
    import dream_keras

    model = dream_keras.build_model("bpnet", "profile_count", input_length=160, output_length=32, filters=2,
                                    n_dil_layers=1)
    sequences = np.eye(4, dtype=np.uint8)[np.random.default_rng(1).integers(0, 4, size=(10, 160))]
    everything = predict_outputs(model, sequences, batch_size=4)
    only = predict_outputs(model, sequences, batch_size=4, outputs=("logcounts",))
    assert set(everything) == {"profile", "logcounts"} and set(only) == {"logcounts"}
    np.testing.assert_array_equal(only["logcounts"], everything["logcounts"])
