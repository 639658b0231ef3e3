"""Interpretation: ISM, contribution scores, marginal footprints and their commands (variants: test_variants.py).

Tiny models keep it fast; the footprint test trains a tiny BPNet on a synthetic genome with a
planted motif for a few epochs (fixed seeds).
"""

import collections

import h5py
import keras
import numpy as np
import pandas as pd
import pyBigWig
import pytest

import baselines.bpnet  # noqa: F401  (registers bpnet)
from data_prep import InputError, extract_windows, make_synthetic_dataset, one_hot_decode, one_hot_encode, read_regions
from data_prep.tables import TASKS
from dream_keras import build_model
from dream_keras.cli import main as cli_main
from dream_keras.interpret import (
    contributions,
    dinucleotide_shuffle,
    ism,
    ism_outputs,
    marginal_footprint,
    marginal_footprints,
)
from dream_keras.interpret.motif_sequences import resolve_motifs
from dream_keras.interpret.tracks import owned_segments
from dream_keras.losses import chrombpnet_loss

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

LENGTH, OUTPUT_LENGTH = 200, 90   # tiny bpnet loses 20 + 2 * (2 + 4) = 32 positions: 168 >= 90 + 74


def tiny_bpnet(seed=0, **options):
    keras.utils.set_random_seed(seed)
    model = build_model("bpnet", filters=8, n_dil_layers=2, input_length=LENGTH, output_length=OUTPUT_LENGTH,
                        **options)
    # Large random output weights give the outputs a spread that a freshly built model lacks (its
    # log-counts average 168 positions of features and hardly vary between sequences).
    rng = np.random.default_rng(seed)
    for suffix, scale in (("logcount_predictions", 3.0), ("prof_out_precrop", 0.3)):
        layer = next(layer for layer in model.layers if layer.name.endswith(suffix))
        layer.set_weights([w + rng.normal(0, scale, w.shape) for w in layer.get_weights()])
    return model


def random_onehot(n, length, seed=0):
    return np.eye(4, dtype=np.uint8)[np.random.default_rng(seed).integers(0, 4, (n, length))]


def profile_target(logits):
    """ChromBPNet's profile target, written out independently of the package."""
    centred = logits - logits.mean(axis=1, keepdims=True)
    weights = np.exp(centred) / np.exp(centred).sum(axis=1, keepdims=True)
    return (weights * centred).sum(axis=1)


@pytest.fixture(scope="module")
def bpnet():
    return tiny_bpnet()


# --- ISM -----------------------------------------------------------------------------------------------

def test_ism_equals_predicting_each_mutant_one_by_one(bpnet):
    sequences = random_onehot(2, LENGTH, seed=1)
    results = ism_outputs(bpnet, sequences, ["logcounts", "profile"], batch_size=97)
    for index, sequence in enumerate(sequences):
        reference = bpnet.predict_on_batch(sequence[None].astype(np.float32))
        for position in (0, 57, LENGTH - 1):
            for base in range(4):
                if sequence[position, base]:
                    continue
                mutant = sequence.astype(np.float32).copy()
                mutant[position] = 0
                mutant[position, base] = 1
                predicted = bpnet.predict_on_batch(mutant[None])
                expected_counts = predicted["logcounts"][0, 0] - reference["logcounts"][0, 0]
                expected_profile = profile_target(predicted["profile"].astype(np.float64))[0] - \
                    profile_target(reference["profile"].astype(np.float64))[0]
                assert results["logcounts"].scores[index, position, base] == pytest.approx(expected_counts, abs=1e-5)
                assert results["profile"].scores[index, position, base] == pytest.approx(expected_profile, abs=1e-5)
    counts = results["logcounts"]
    assert np.abs(counts.scores).max() > 1e-3  # the model is not flat, so the comparison means something
    substituted = sequences == 0
    np.testing.assert_allclose(counts.position_scores, (counts.scores * substituted).sum(axis=2) / 3, rtol=1e-6)


def test_substituting_a_base_with_itself_scores_zero():
    # Dropout and batch normalisation would change predictions in training mode or with the batch.
    keras.utils.set_random_seed(3)
    model = build_model("dream_cnn", "soft_bins", first_filters=8, core_channels=[8, 4])
    sequences = TASKS["dream_yeast"].encode(["ACGTTGCA" * 10, "TTGACCAG" * 10], dtype=np.float32)
    result = ism(model, sequences, include_reference=True, batch_size=128)
    assert result.output == "expression"
    own = sequences[..., :4].astype(bool)
    np.testing.assert_allclose(result.scores[own], 0.0, atol=1e-5)
    assert np.abs(result.scores[~own]).max() > 1e-4


# --- contributions -------------------------------------------------------------------------------------

def test_gradient_x_input_of_a_linear_model_is_weights_times_input():
    length = 30
    inputs = keras.Input((length, 4), name="sequence")
    dense = keras.layers.Dense(1, name="activity")
    model = keras.Model(inputs, {"activity": dense(keras.layers.Flatten()(inputs))})
    weights = np.random.default_rng(4).normal(size=(length * 4, 1)).astype(np.float32)
    dense.set_weights([weights, np.array([0.7], dtype=np.float32)])
    sequences = random_onehot(3, length, seed=5)
    scores = contributions(model, sequences, "gradient_x_input", "activity")
    np.testing.assert_allclose(scores, weights.reshape(length, 4)[None] * sequences, rtol=1e-6)
    hypothetical = contributions(model, sequences, "gradient_x_input", "activity", hypothetical=True)
    np.testing.assert_allclose(hypothetical, np.broadcast_to(weights.reshape(length, 4), hypothetical.shape),
                               rtol=1e-6)


def test_integrated_gradients_are_complete(bpnet):
    # One reference per sequence: with several, output - mean baseline output is a difference of
    # terms that partly cancel, and 1 % of it is far below the integration error of each term.
    sequences = random_onehot(3, LENGTH, seed=6)
    scores = contributions(bpnet, sequences, "integrated_gradients", "logcounts", n_baselines=1, steps=512,
                           seed=11, batch_size=256)
    for index, sequence in enumerate(sequences):
        references = dinucleotide_shuffle(sequence, 1, np.random.default_rng([11, index]))
        own = bpnet.predict_on_batch(sequence[None].astype(np.float32))["logcounts"][0, 0]
        baseline = bpnet.predict_on_batch(references)["logcounts"][:, 0].mean()
        assert abs(own - baseline) > 1e-2
        assert scores[index].sum() == pytest.approx(own - baseline, rel=0.01)
    assert np.all(scores[sequences == 0] == 0)


def test_dinucleotide_shuffle_keeps_dinucleotides_and_is_seeded():
    text = "ACGTTNNACGGGATCCAAATTTGCGCAN" * 4
    onehot = one_hot_encode(text)
    shuffles = dinucleotide_shuffle(onehot, 6, seed=2)
    pairs = collections.Counter(zip(text, text[1:]))
    decoded = one_hot_decode(shuffles)
    for shuffled in decoded:
        assert collections.Counter(zip(shuffled, shuffled[1:])) == pairs
        assert shuffled[0] == text[0] and shuffled[-1] == text[-1]
    assert len(set(decoded)) == 6 and text not in decoded
    np.testing.assert_array_equal(shuffles, dinucleotide_shuffle(onehot, 6, seed=2))


# --- marginal footprints -------------------------------------------------------------------------------

def test_footprint_matches_the_official_formula(bpnet):
    background = random_onehot(5, LENGTH, seed=7)
    footprint = marginal_footprint(bpnet, background, "GCACAGTACAGAGCTG")
    inserted = background.astype(np.float32).copy()
    inserted[:, LENGTH // 2 - 8:LENGTH // 2 + 8] = one_hot_encode("GCACAGTACAGAGCTG")

    def expected_counts(x):
        predicted = bpnet.predict_on_batch(x)
        probabilities = np.exp(predicted["profile"].astype(np.float64))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return probabilities * np.expm1(predicted["logcounts"].astype(np.float64))

    forward = expected_counts(inserted)
    reverse = expected_counts(np.ascontiguousarray(inserted[:, ::-1, ::-1]))[:, ::-1]
    np.testing.assert_allclose(footprint.profile, ((forward + reverse) / 2).mean(axis=0), rtol=1e-5)
    per_sequence = (forward + reverse) / (forward + reverse).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(footprint.normalized_profile, per_sequence.mean(axis=0), rtol=1e-5)
    assert footprint.max == pytest.approx(footprint.profile.max())
    assert not np.allclose(footprint.profile, footprint.baseline_profile)


def _meme(consensus):
    rows = "\n".join(" ".join("0.97" if base == letter else "0.01" for letter in "ACGT") for base in consensus)
    return ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
            f"MOTIF M1 planted\nletter-probability matrix: alength= 4 w= {len(consensus)} nsites= 20 E= 0\n{rows}\n")


@pytest.mark.slow  # trains or starts a second interpreter
def test_footprint_of_a_planted_motif_rises_after_training(tmp_path):
    motif, scrambled = "TTGACGTCATCG", "AGCCGTTTGCTA"   # scrambled: the same letters, permuted
    (tmp_path / "planted.meme").write_text(_meme(motif))
    data = make_synthetic_dataset(tmp_path / "synthetic", n_chroms=1, chrom_size=600_000, n_peaks=250,
                                  motifs_meme=tmp_path / "planted.meme", seed=0, peak_height=2.0, progress=False)
    length, output_length, jitter = 128, 20, 16
    peaks = read_regions(data.peaks)
    windows = extract_windows(peaks, data.genome, data.bigwig, length, output_length, jitter, progress=False)
    rng = np.random.default_rng(0)
    candidates = rng.integers(20_000, 580_000, 5 * len(peaks))
    far = np.abs(candidates[:, None] - peaks["summit"].to_numpy()[None]).min(axis=1) > 1500
    background = extract_windows(pd.DataFrame({"chrom": "chr1", "summit": candidates[far][:len(peaks)]}),
                                 data.genome, data.bigwig, length, output_length, progress=False)
    shifts = rng.integers(0, 2 * jitter + 1, len(windows.sequences))
    x = np.concatenate([np.stack([s[o:o + length] for s, o in zip(windows.sequences, shifts)]),
                        background.sequences]).astype(np.float32)
    y = np.concatenate([np.stack([c[o:o + output_length] for c, o in zip(windows.counts, shifts)]),
                        background.counts])

    keras.utils.set_random_seed(0)
    model = build_model("bpnet", filters=32, n_dil_layers=2, input_length=length, output_length=output_length)
    # A large count weight lets a 12-epoch run learn that the motif raises accessibility.
    loss, loss_weights = chrombpnet_loss(10.0)
    model.compile(keras.optimizers.Adam(3e-3), loss=loss, loss_weights=loss_weights)
    model.fit(x, {"profile": y, "logcounts": np.log1p(y.sum(axis=1, keepdims=True))}, epochs=12, batch_size=16,
              verbose=0)

    footprints = marginal_footprints(model, background.sequences[:100], {"motif": motif, "scrambled": scrambled})
    planted, control = footprints["motif"], footprints["scrambled"]
    assert planted.max > 3 * control.max
    assert planted.max > 3 * planted.baseline_profile.max()
    assert planted.counts > 3 * control.counts


def test_motif_names_resolve_to_bundled_sequences(tmp_path):
    motifs = resolve_motifs(["tn5_1", "CTCF", "dnase"])
    assert motifs["tn5_1"] == "GCACAGTACAGAGCTG"
    assert motifs["CTCF"] == "GCCACCAGGGGGCGC"
    assert set(motifs) == {"tn5_1", "CTCF", "dnase_1", "dnase_2"}
    (tmp_path / "mine.tsv").write_text("site\tacgtTT\n")
    assert resolve_motifs([str(tmp_path / "mine.tsv")]) == {"site": "ACGTTT"}
    with pytest.raises(InputError, match="no_such_motif"):
        resolve_motifs(["no_such_motif"])


# --- bigWig overlaps -----------------------------------------------------------------------------------

def test_overlapping_windows_take_the_nearest_summit():
    # Windows of 10 bp centred on 10, 14 and 30 (starts 5, 9, 25); 14 appears twice.
    segments = owned_segments(np.array([5, 9, 25, 9]), np.array([10, 14, 30, 14]), 10)
    assert segments == [(0, 5, 12), (1, 12, 19), (2, 25, 35)]


# --- command line --------------------------------------------------------------------------------------

def test_contribs_command_writes_matching_bigwig_and_hdf5(saved_bpnet, data_dir, tmp_path):
    atac = data_dir / "atac_mm10"
    prefix = tmp_path / "out" / "tiny"
    assert cli_main(["contribs", "--model", str(saved_bpnet), "--genome", str(atac / "genome.fa"),
                     "--regions", str(atac / "peaks.narrowPeak"), "--out", str(prefix), "--output", "both",
                     "--method", "gradient_x_input"]) == 0
    peaks = read_regions(atac / "peaks.narrowPeak")
    for stem in ("counts", "profile"):
        with h5py.File(tmp_path / "out" / f"tiny.{stem}_scores.h5") as handle:
            onehot = handle["raw/seq"][:].transpose(0, 2, 1)
            hypothetical = handle["shap/seq"][:].transpose(0, 2, 1)
            chroms = handle["coords/chrom"][:].astype(str)
            starts, summits = handle["coords/start"][:], handle["coords/summit"][:]
        assert len(onehot) == len(peaks) and onehot.shape[1:] == (LENGTH, 4)
        per_base = (hypothetical * onehot).sum(axis=2)
        assert np.abs(per_base).max() > 0
        bigwig = pyBigWig.open(str(tmp_path / "out" / f"tiny.{stem}_scores.bw"))
        try:
            assert bigwig.chroms("chr17_seg1") == 200_000
            # The first peak has no neighbour within its window: the whole window is its scores.
            values = bigwig.values(chroms[0], int(starts[0]), int(starts[0]) + LENGTH, numpy=True)
            np.testing.assert_allclose(values, per_base[0], rtol=1e-5, atol=1e-7)
            # Every window owns its summit (no two peaks share one here).
            for row in range(len(onehot)):
                value = bigwig.values(chroms[row], int(summits[row]), int(summits[row]) + 1)[0]
                assert value == pytest.approx(per_base[row, LENGTH // 2], rel=1e-5, abs=1e-7)
        finally:
            bigwig.close()
    expected = contributions(keras.saving.load_model(saved_bpnet), onehot, "gradient_x_input", "profile",
                             hypothetical=True)
    np.testing.assert_allclose(hypothetical, expected, rtol=1e-5, atol=1e-7)


def test_footprints_command_writes_table_and_plots(saved_bpnet, bpnet, data_dir, tmp_path):
    atac = data_dir / "atac_mm10"
    out = tmp_path / "footprints"
    assert cli_main(["footprints", "--model", str(saved_bpnet), "--genome", str(atac / "genome.fa"), "--regions",
                     str(atac / "peaks.narrowPeak"), "--motifs", "tn5_1", "CTCF", "--out", str(out),
                     "--max-regions", "20"]) == 0
    table = pd.read_csv(out / "footprints.tsv", sep="\t")
    assert list(table["motif"]) == ["tn5_1", "CTCF"] and list(table["n_sequences"]) == [20, 20]
    windows = extract_windows(atac / "peaks.narrowPeak", atac / "genome.fa", None, LENGTH, 1, progress=False)
    expected = marginal_footprint(bpnet, windows.sequences[:20], "GCACAGTACAGAGCTG")
    assert table["max"][0] == pytest.approx(expected.max, rel=1e-4)
    assert table["normalized_max"][0] == pytest.approx(expected.normalized_max, rel=1e-4)
    for name in ("tn5_1", "CTCF"):
        assert (out / f"{name}.footprint.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # trains or starts a second interpreter
def test_ism_command_on_a_sequence_table(data_dir, tmp_path):
    keras.utils.set_random_seed(2)
    model = build_model("dream_cnn", "soft_bins", first_filters=8, core_channels=[8, 4])
    model.save(tmp_path / "yeast.keras")
    table = tmp_path / "table.txt"
    table.write_text("".join((data_dir / "dream_yeast" / "demo_train.txt").read_text().splitlines(True)[:3]))
    out = tmp_path / "ism.h5"
    assert cli_main(["ism", "--model", str(tmp_path / "yeast.keras"), "--data", str(table), "--task",
                     "dream_yeast", "--out", str(out)]) == 0
    with h5py.File(out) as handle:
        onehot = handle["onehot"][:]
        scores, position_scores = handle["expression/scores"][:], handle["expression/position_scores"][:]
        assert set(handle) == {"onehot", "expression"}
    assert onehot.shape == (3, 150, 6) and scores.shape == (3, 150, 4)
    expected = ism(model, onehot, "expression")
    np.testing.assert_allclose(scores, expected.scores, atol=1e-6)
    np.testing.assert_allclose(position_scores, expected.position_scores, atol=1e-6)
    assert cli_main(["ism", "--model", str(tmp_path / "yeast.keras"), "--data", str(table), "--task",
                     "no_such_task", "--out", str(out)]) == 2
