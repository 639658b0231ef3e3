"""The synthetic quickstart's motif step and its motif check, on a smaller synthetic set with known answers.

``quickstart --synthetic`` trains its models for minutes; here the motif step
(:func:`dream_keras.cli.quickstart_synthetic.motif_summary`: sampled peaks, contributions, TF-MoDISco,
TOMTOM, the motif check) runs on the peaks of a small planted-CTCF data set with models whose answer
is known by construction: a "bias-free" model that reads CTCF (its only filter is CTCF's log-odds
matrix) and a "bias" model that reads the Tn5 bias motif the insertions were drawn with. The step
must name CTCF as the first's top positive pattern with no enzyme motif (motif check: pass), and
find the Tn5 motif in the second (the check, were it a bias-free model: fail).
"""

from __future__ import annotations

import numpy as np
import pytest

from data_prep import make_synthetic_dataset
from data_prep.motifs import bundled_motif_path, read_meme

pytestmark = pytest.mark.slow  # TF-MoDISco and TOMTOM on three models (and their numba kernels' first compile)

INPUT, OUTPUT = 1024, 512


def motif_reading_model(matrices: list[tuple[np.ndarray, float]], path):
    """A profile/count model that scores each ``(matrix, fraction)``'s log-odds on both strands.

    A leaky ReLU above ``fraction`` of the best score, so that no contribution is exactly zero, as in a
    trained model: profile logits = the summed scores over the central ``OUTPUT`` bases, log-counts their
    mean over the input. Saved as ``.keras``.
    """
    import keras

    width = max(len(m) for m, _ in matrices)
    kernel = np.zeros((width, 4, 2 * len(matrices)), np.float32)
    bias = np.zeros(2 * len(matrices), np.float32)
    for number, (matrix, fraction) in enumerate(matrices):
        log_odds = np.log2((matrix + 0.01) / 0.25)
        offset = (width - len(matrix)) // 2
        for strand, weights in enumerate((log_odds, log_odds[::-1, ::-1])):
            kernel[offset:offset + len(matrix), :, 2 * number + strand] = weights
            bias[2 * number + strand] = -fraction * log_odds.max(axis=1).sum()
    sequence = keras.Input((INPUT, 4), name="sequence")
    scores = keras.layers.Conv1D(len(bias), width, padding="same", name="motif_scores")(sequence)
    active = keras.layers.LeakyReLU(negative_slope=0.01)(scores)
    summed = keras.layers.Conv1D(1, 1, use_bias=False, name="summed", kernel_initializer="ones")(active)
    crop = (INPUT - OUTPUT) // 2
    profile = keras.layers.Flatten(name="profile")(keras.layers.Cropping1D(crop)(summed))
    logcounts = keras.layers.Dense(1, name="logcounts", kernel_initializer="ones")(
        keras.layers.GlobalAveragePooling1D()(active))
    model = keras.Model(sequence, {"profile": profile, "logcounts": logcounts})
    model.get_layer("motif_scores").set_weights([kernel, bias])
    model.save(path)
    return path


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    from dream_keras.cli.quickstart_synthetic import motif_summary

    root = tmp_path_factory.mktemp("synthetic_motifs")
    data = make_synthetic_dataset(root / "data", n_chroms=1, chrom_size=200_000, n_peaks=250,
                                  planted_motif="CTCF", seed=3, progress=False)
    database = {m.identifier: m.probabilities for m in read_meme(bundled_motif_path("motif_database.meme.gz"))}
    # thresholds: CTCF's planted sites score high, the Tn5 motif (low information) at ~1 % of positions
    ctcf, tn5 = (database["MA0139.2"], 0.6), (database["TN5_1"], 0.35)
    models = {"bias_free": motif_reading_model([ctcf], root / "ctcf.keras"),
              "bias": motif_reading_model([tn5], root / "tn5.keras")}
    found = motif_summary(models, data.genome, data.peaks, root / "motifs", INPUT, 160,
                          {"n_baselines": 4, "steps": 4})
    return found, root


def test_the_ctcf_model_s_top_positive_pattern_is_ctcf_and_none_is_tn5(summary):
    found, root = summary
    model = found["bias_free"]
    assert model["top_match"] == "MA0139.2 CTCF" and model["top_match_q"] < 1e-3
    assert model["enzyme_patterns"] == [] and model["motif_check"]["verdict"] == "pass"
    assert (root / "motifs" / "bias_free" / "motifs.html").is_file()


def test_the_tn5_model_s_patterns_are_the_tn5_motif(summary):
    found, _ = summary
    model = found["bias"]
    assert model["enzyme_patterns"] and model["top_match"].startswith("TN5_")
    check = model["motif_check"]
    assert check["verdict"] == "fail" and check["enzyme_patterns"][0]["match"].startswith("TN5_")
    assert check["enzyme_patterns"][0]["q_value"] < 0.05 and "TN5_" in check["message"]
