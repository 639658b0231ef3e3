"""Variant scoring against the official variant scorer's definitions.

The official variant scorer's windows, shuffles and score definitions, written out again here with NumPy
(and SciPy), the input schemas and checks, and the ``variants`` command (tables, summary across models,
p-values, HDF5, plots, resume).

A tiny BPNet (input 200 bp) on a 2-chromosome piece of the bundled soft-masked mouse genome keeps
it fast. ``tests/variants_kill_after_chunks.py`` is the wrapper that kills a run after its chunks.
"""

import gzip
import pathlib
import subprocess
import sys

import h5py
import keras
import numpy as np
import pandas as pd
import pyfaidx
import pytest
from scipy.spatial.distance import jensenshannon

import baselines.bpnet  # noqa: F401  (registers bpnet)
from data_prep import InputError
from dream_keras import build_model
from dream_keras.cli import main as cli_main
from dream_keras.interpret.variants import read_variant_list, score_variants, snv_reuse
from dream_keras.interpret.variants.allele_predictions import AllelePredictor
from dream_keras.interpret.variants.chromosomes import ChromosomeReader
from dream_keras.interpret.variants.dinucleotide_shuffle import dinucleotide_shuffle_text, dinucleotide_shuffles
from dream_keras.interpret.variants.fold_summary import summarise_models
from dream_keras.interpret.variants.peak_scores import peak_windows, read_peaks
from dream_keras.interpret.variants.scores import (
    empirical_pvalues,
    profile_count_scores,
    pvalue_columns,
    quantile_scores,
)
from dream_keras.interpret.variants.shuffled_variants import shuffled_variant_table
from dream_keras.interpret.variants.windows import allele_windows, segment_starts

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

LENGTH, OUTPUT_LENGTH = 200, 90
FLANK = LENGTH // 2
HERE = pathlib.Path(__file__).parent


def tiny_bpnet(seed=0):
    keras.utils.set_random_seed(seed)
    model = build_model("bpnet", filters=8, n_dil_layers=2, input_length=LENGTH, output_length=OUTPUT_LENGTH)
    rng = np.random.default_rng(seed)
    # large random output weights: predictions that vary between sequences
    for suffix, scale in (("logcount_predictions", 3.0), ("prof_out_precrop", 0.3)):
        layer = next(layer for layer in model.layers if layer.name.endswith(suffix))
        layer.set_weights([w + rng.normal(0, scale, w.shape) for w in layer.get_weights()])
    return model


@pytest.fixture(scope="module")
def models():
    return [tiny_bpnet(0), tiny_bpnet(1)]


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory, models):
    folder = tmp_path_factory.mktemp("variant_models")
    paths = [folder / f"fold_{i}.keras" for i in range(len(models))]
    for model, path in zip(models, paths):
        model.save(path)
    return paths


@pytest.fixture(scope="module")
def genome(tmp_path_factory, data_dir):
    """ChrA (3 kb) and chrB (2 kb) of the bundled genome, soft-masked case kept."""
    folder = tmp_path_factory.mktemp("variant_genome")
    with pyfaidx.Fasta(str(data_dir / "atac_mm10" / "genome.fa"), as_raw=True) as fasta:
        texts = {"chrA": fasta["chr17_seg1"][20_000:23_000], "chrB": fasta["chr17_seg2"][40_000:42_000]}
    assert any(c.islower() for c in texts["chrA"]) and any(c.isupper() for c in texts["chrA"])
    (folder / "genome.fa").write_text("".join(f">{name}\n{text}\n" for name, text in texts.items()))
    return folder / "genome.fa", texts


def variant_rows(texts):
    """An SNV, a 2 bp deletion (VCF style), an insertion ('-' style), a deletion ('-' style), on chrA/chrB."""
    a, b = texts["chrA"].upper(), texts["chrB"].upper()
    snv_alt = "ACGT"[("ACGT".index(a[999]) + 1) % 4]
    return pd.DataFrame({"chr": ["chrA", "chrA", "chrB", "chrB"], "pos": [1000, 2001, 700, 1300],
                         "allele1": [a[999], a[2000:2003], "-", b[1299:1302]],
                         "allele2": [snv_alt, a[2000], "GAT", "-"], "variant_id": ["snv", "del", "ins", "del2"]})


# --- windows and shuffles, as the official VariantGenerator builds them ----------------------------------

def official_windows(text, pos, allele1, allele2, flank, shuffle=None):
    """The official ``VariantGenerator.__get_allele_seq__``, written out again (strings)."""
    allele1, allele2 = ("" if a == "-" else a for a in (allele1, allele2))
    p = pos - 1
    if len(allele1) == len(allele2):
        segment = text[p - flank:p + flank]
        segment = shuffle(segment) if shuffle else segment
        return (segment[:flank] + allele1 + segment[flank + len(allele1):],
                segment[:flank] + allele2 + segment[flank + len(allele2):])
    mismatch = len(allele1) - len(allele2)
    segment = text[p - flank:p + flank + max(mismatch, 0)]
    segment = shuffle(segment) if shuffle else segment
    left = segment[:flank]
    return (left + allele1 + segment[flank + len(allele1):2 * flank],
            left + allele2 + segment[flank + len(allele1):2 * flank + mismatch])


def plain_dinucleotide_shuffle(text, seed):
    """DeepLIFT's ``dinuc_shuffle`` (the official scorer's), one sequence, a plain loop."""
    arr = np.frombuffer(text.encode(), dtype=np.int8)
    chars, tokens = np.unique(arr, return_inverse=True)
    rng = np.random.RandomState(seed)
    following = []
    for t in range(len(chars)):
        nexts = np.where(tokens[:-1] == t)[0] + 1
        inds = np.arange(len(nexts))
        inds[:-1] = rng.permutation(len(inds) - 1)
        following.append(nexts[inds])
    counters, ind, result = [0] * len(chars), 0, [tokens[0]]
    for _ in range(1, len(tokens)):
        t = tokens[ind]
        ind = following[t][counters[t]]
        counters[t] += 1
        result.append(tokens[ind])
    return chars[np.array(result)].tobytes().decode()


def test_allele_windows_follow_the_official_layout(genome):
    path, texts = genome
    rows = variant_rows(texts)
    for chrom in ("chrA", "chrB"):
        part = rows[rows["chr"] == chrom]
        bases = np.frombuffer(texts[chrom].encode(), np.uint8)
        alleles = [[("" if a == "-" else a) for a in part[c]] for c in ("allele1", "allele2")]
        windows1, windows2 = allele_windows(bases, part["pos"].to_numpy(), *alleles, LENGTH)
        shuffled1, _ = allele_windows(bases, part["pos"].to_numpy(), *alleles, LENGTH, shuffle_seeds=[5, 6])
        for i, row in enumerate(part.itertuples()):
            expected = official_windows(texts[chrom], row.pos, row.allele1, row.allele2, FLANK)
            assert windows1[i].tobytes().decode() == expected[0] and windows2[i].tobytes().decode() == expected[1]
            seed = [5, 6][i]
            shuffled = official_windows(texts[chrom], row.pos, row.allele1, row.allele2, FLANK,
                                        shuffle=lambda s, seed=seed: plain_dinucleotide_shuffle(s, seed))
            assert shuffled1[i].tobytes().decode() == shuffled[0]


def test_dinucleotide_shuffle_is_deeplifts_seed_for_seed(genome):
    _, texts = genome
    rng = np.random.default_rng(3)
    segments = [texts["chrA"][s:s + 301] for s in rng.integers(0, 2500, 6)] + ["ACGTNNacgt" * 30 + "A"]
    seeds = [int(s) for s in rng.integers(0, 10**6, len(segments))]
    batch = np.stack([np.frombuffer(s.encode(), np.uint8) for s in segments])
    shuffled = dinucleotide_shuffles(batch, seeds)
    for row, text, seed in zip(shuffled, segments, seeds):
        expected = plain_dinucleotide_shuffle(text, seed)
        assert row.tobytes().decode() == expected == dinucleotide_shuffle_text(text, seed)
        assert expected != text and expected[0] == text[0]
        pairs = lambda s: sorted(s[i:i + 2] for i in range(len(s) - 1))  # noqa: E731
        assert pairs(expected) == pairs(text)


def test_shuffled_variants_are_drawn_as_the_official_scorer_draws_them():
    variants = pd.DataFrame({"chr": "chr1", "pos": np.arange(10) + 5000, "allele1": "A", "allele2": "C",
                             "variant_id": [f"v{i}" for i in range(10)]})
    table = shuffled_variant_table(variants, num_shuffles=3, seed=1234)
    expected = variants.sample(30, random_state=1234, ignore_index=True, replace=True)  # official create_shuffle_table
    np.random.seed(1234)
    assert list(table["variant_id"]) == list(expected["variant_id"])
    assert list(table["random_seed"]) == list(np.random.permutation(30))
    total = shuffled_variant_table(variants, total_shuffles=4, seed=7)
    assert list(total["variant_id"]) == list(variants.sample(4, random_state=7, ignore_index=True)["variant_id"])


# --- score definitions against NumPy / SciPy ------------------------------------------------------------

def official_softmax(x):
    centred = x - np.mean(x, axis=1, keepdims=True)
    return np.exp(centred) / np.sum(np.exp(centred), axis=1, keepdims=True)


def test_scores_equal_the_official_definitions_computed_with_numpy():
    rng = np.random.default_rng(0)
    n, width = 5, 40
    counts = rng.uniform(0.5, 30, (2, n))
    logits = rng.normal(0, 2, (2, n, width))
    lengths1, lengths2 = np.array([1, 3, 1, 1, 2]), np.array([1, 1, 4, 0, 2])  # SNV, deletion, insertion, ...
    columns = profile_count_scores({"counts": counts, "logits": logits}, lengths1, lengths2)
    p1, p2 = official_softmax(logits[0]), official_softmax(logits[1])
    logfc = np.log2(counts[1] / counts[0])
    np.testing.assert_allclose(columns["logfc"], logfc, rtol=1e-12)
    original = np.array([jensenshannon(p2[i], p1[i], base=2.0) for i in range(n)])
    np.testing.assert_allclose(columns["original_jsd"], original, rtol=1e-9)
    adjusted = original.copy()
    flank = width // 2
    # the deletion (3 -> 1): allele1 drops its positions 21, 22; allele2 its last 2
    a1 = np.concatenate([p1[1][:flank + 1], p1[1][flank + 3:]])
    a2 = p2[1][:width - 2]
    adjusted[1] = jensenshannon(a1 / a1.sum(), a2 / a2.sum(), base=2.0)
    # the insertion (1 -> 4): allele1 drops its last 3, allele2 its positions 21..23
    a1, a2 = p1[2][:width - 3], np.concatenate([p2[2][:flank + 1], p2[2][flank + 4:]])
    adjusted[2] = jensenshannon(a1 / a1.sum(), a2 / a2.sum(), base=2.0)
    # the full deletion (1 -> 0): allele1 drops position 20, allele2 its last one
    a1, a2 = np.concatenate([p1[3][:flank], p1[3][flank + 1:]]), p2[3][:width - 1]
    adjusted[3] = jensenshannon(a1 / a1.sum(), a2 / a2.sum(), base=2.0)
    np.testing.assert_allclose(columns["jsd"], adjusted, rtol=1e-9)
    assert not np.allclose(adjusted[1:4], original[1:4])
    np.testing.assert_allclose(columns["abs_logfc_x_jsd"], np.abs(logfc) * adjusted, rtol=1e-9)

    peaks = np.sort(rng.uniform(0.5, 30, 50))
    quantiles = quantile_scores(columns, peaks)
    q1 = np.array([max(np.mean(peaks < c), 1 / 50) for c in counts[0]])
    q2 = np.array([max(np.mean(peaks < c), 1 / 50) for c in counts[1]])
    np.testing.assert_allclose(quantiles["allele1_quantile"], q1)
    np.testing.assert_allclose(quantiles["quantile_change"], q2 - q1)
    np.testing.assert_allclose(quantiles["logfc_x_jsd_x_active_allele_quantile"],
                               logfc * adjusted * np.maximum(q1, q2), rtol=1e-9)

    null = rng.normal(0, 1, 19)
    observed = np.array([-3.0, null[4], 0.1, 2.5])
    right = np.array([(np.sum(null >= x) + 1) / 20 for x in observed])
    left = np.array([(np.sum(null <= x) + 1) / 20 for x in observed])
    np.testing.assert_allclose(empirical_pvalues(observed, np.sort(null), "right"), right)
    np.testing.assert_allclose(empirical_pvalues(observed, np.sort(null), "both"), 2 * np.minimum(left, right))
    pvalues = pvalue_columns({"logfc": observed, "jsd": observed}, {"logfc": np.sort(null), "jsd": np.sort(null)})
    assert set(pvalues) == {"logfc.pval", "logfc.pval_capped", "jsd.pval"}
    np.testing.assert_allclose(pvalues["logfc.pval_capped"], np.minimum(2 * np.minimum(left, right), 1))
    median = np.sort(null)[9]  # at the null median the official two-sided p-value exceeds 1
    assert empirical_pvalues(np.array([median]), np.sort(null), "both")[0] == pytest.approx(22 / 20)


def test_summary_is_the_official_mean_and_geometric_mean_of_pvalues():
    long_table = pd.DataFrame({"chr": ["c"] * 4, "pos": [1, 1, 2, 2], "allele1": "A", "allele2": "G",
                               "variant_id": ["a", "a", "b", "b"], "model": [0, 1, 0, 1],
                               "logfc": [1.0, 3.0, -1.0, 0.0], "logfc.pval": [0.1, 0.4, 0.5, 0.5],
                               "original_jsd": [0.1, 0.2, 0.3, 0.4]})
    summary = summarise_models(long_table, 2)
    assert list(summary.columns) == ["chr", "pos", "allele1", "allele2", "variant_id", "logfc.mean",
                                     "logfc.mean.pval"]
    np.testing.assert_allclose(summary["logfc.mean"], [2.0, -0.5])
    np.testing.assert_allclose(summary["logfc.mean.pval"], [0.2, 0.5])


# --- predictions ----------------------------------------------------------------------------------------

def test_scores_are_the_strand_means_of_direct_predictions(models, genome):
    path, texts = genome
    rows = variant_rows(texts)
    table = score_variants(models, path, rows)
    assert list(table["variant_id"]) == ["snv", "snv", "del", "del", "ins", "ins", "del2", "del2"]
    assert list(table["model"]) == [0, 1] * 4
    window = texts["chrA"][1000 - 1 - FLANK:1000 - 1 + FLANK].upper()
    alt = window[:FLANK] + rows["allele2"][0] + window[FLANK + 1:]
    for model_index, model in enumerate(models):
        onehot = np.eye(4, dtype=np.float32)[[["ACGT".index(b) for b in w] for w in (window, alt)]]
        forward = model.predict_on_batch(onehot)
        reverse = model.predict_on_batch(onehot[:, ::-1, ::-1].copy())
        counts = (np.exp(forward["logcounts"][:, 0].astype(np.float64))
                  + np.exp(reverse["logcounts"][:, 0].astype(np.float64))) / 2
        logits = (forward["profile"].astype(np.float64) + reverse["profile"][:, ::-1]) / 2
        row = table[(table["variant_id"] == "snv") & (table["model"] == model_index)].iloc[0]
        assert row["allele1_pred_counts"] == pytest.approx(counts[0], rel=1e-5)
        assert row["logfc"] == pytest.approx(np.log2(counts[1] / counts[0]), rel=1e-4, abs=1e-6)
        p = official_softmax(logits)
        assert row["jsd"] == pytest.approx(jensenshannon(p[1], p[0], base=2.0), rel=1e-4, abs=1e-6)
    same = score_variants(models[0], path, rows.iloc[[0, 1, 3]].assign(allele2=lambda f: f["allele1"]))
    np.testing.assert_allclose(same[["logfc", "jsd"]].to_numpy(), 0.0, atol=1e-7)


def _snv_windows(text, positions):
    bases = np.frombuffer(text.encode(), np.uint8)
    allele1 = [text[p - 1].upper() for p in positions]
    allele2 = ["ACGT"[("ACGT".index(a) + 1) % 4] for a in allele1]
    return bases, allele_windows(bases, positions, allele1, allele2, LENGTH)


def test_snv_reuse_gives_the_full_models_predictions(monkeypatch, models, genome):
    monkeypatch.setattr(snv_reuse, "MIN_REUSE_FILTERS", 0)  # the tiny test tower has 8 filters
    calls = []
    original = snv_reuse.BPNetSNVReuse.predict
    monkeypatch.setattr(snv_reuse.BPNetSNVReuse, "predict",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    _, texts = genome
    # unsorted: a cluster 10-30 bp apart, isolated SNVs, and two whose region (rounded up to 400 bp) runs
    # past the end of chrA (3,000 bp): the region is padded
    positions = np.array([1510, 150, 1500, 2750, 1000, 1530, 2895, 1700])
    bases, (windows1, windows2) = _snv_windows(texts["chrA"], positions)
    snv = np.ones(len(positions), bool)
    expected = AllelePredictor(models, 3, snv_reuse=False).predict_pairs(windows1, windows2, snv)
    reuse = AllelePredictor(models, 3)
    from_regions = reuse.predict_pairs(windows1, windows2, snv, bases=bases,
                                       window_starts=segment_starts(positions, LENGTH))
    from_windows = reuse.predict_pairs(windows1, windows2, snv)
    assert calls and reuse.reuse_refused == {}
    for got in (from_regions, from_windows):
        for mine, full in zip(got, expected):
            np.testing.assert_allclose(mine["counts"], full["counts"], rtol=1e-5)
            np.testing.assert_allclose(mine["logits"], full["logits"], rtol=1e-5, atol=1e-5)


def test_snv_reuse_that_disagrees_with_the_model_is_switched_off(monkeypatch, models, genome):
    monkeypatch.setattr(snv_reuse, "MIN_REUSE_FILTERS", 0)
    original = snv_reuse.BPNetSNVReuse.predict

    def shifted(self, *args, **kwargs):
        outputs = original(self, *args, **kwargs)
        return {**outputs, "logcounts": outputs["logcounts"] + 0.01}

    monkeypatch.setattr(snv_reuse.BPNetSNVReuse, "predict", shifted)
    _, texts = genome
    bases, (windows1, windows2) = _snv_windows(texts["chrB"], np.array([300, 900, 1400]))
    snv = np.ones(3, bool)
    predictor = AllelePredictor(models[:1], 2)
    got = predictor.predict_pairs(windows1, windows2, snv, bases=bases, window_starts=segment_starts([300, 900, 1400],
                                                                                                    LENGTH))
    expected = AllelePredictor(models[:1], 2, snv_reuse=False).predict_pairs(windows1, windows2, snv)
    assert "differed from the full model by 1.0e-02" in predictor.reuse_refused[0]
    np.testing.assert_allclose(got[0]["counts"], expected[0]["counts"], rtol=1e-6)


def test_models_with_single_value_outputs_get_allele_columns_and_differences(genome):
    import baselines.deepstarr  # noqa: F401  (registers deepstarr)

    path, texts = genome
    keras.utils.set_random_seed(5)
    model = build_model("deepstarr", input_length=LENGTH, filters=[8, 8], kernel_sizes=[7, 3], dense_units=[16])
    rows = variant_rows(texts).iloc[:2]
    table = score_variants(model, path, rows, num_shuffles=3)
    assert {"allele1_Dev", "allele2_Hk", "Dev_diff", "Dev_diff.pval", "Dev_diff.pval_capped"} <= set(table.columns)
    window = texts["chrA"][1000 - 1 - FLANK:1000 - 1 + FLANK].upper()
    onehot = np.eye(4, dtype=np.float32)[[["ACGT".index(b) for b in window]]]
    both = [model.predict_on_batch(x)["Dev"][0, 0] for x in (onehot, onehot[:, ::-1, ::-1].copy())]
    assert table["allele1_Dev"][0] == pytest.approx(np.mean(both), rel=1e-5)
    np.testing.assert_allclose(table["Dev_diff"], table["allele2_Dev"] - table["allele1_Dev"], rtol=1e-9)


# --- inputs ---------------------------------------------------------------------------------------------

def test_every_schema_reads_the_same_variants(tmp_path):
    expected = pd.DataFrame({"chr": ["chr1", "chr1", "chr2"], "pos": [101, 202, 303], "allele1": ["A", "CA", ""],
                             "allele2": ["G", "C", "TT"], "variant_id": ["v1", "v2", "v3"]})
    lines = {"chrombpnet": ["chr1\t101\tA\tG\tv1", "chr1\t202\tCA\tC\tv2", "chr2\t303\t-\tTT\tv3"],
             "bed": ["chr1\t100\t101\tA\tG\tv1", "chr1\t201\t203\tCA\tC\tv2", "chr2\t302\t303\t-\tTT\tv3"],
             "plink": ["chr1\tv1\t0\t101\tA\tG", "chr1\tv2\t0\t202\tCA\tC", "chr2\tv3\t0\t303\t-\tTT"],
             "original": ["chr1\t101\tv1\tA\tG", "chr1\t202\tv2\tCA\tC", "chr2\t303\tv3\t-\tTT"]}
    for schema, rows in lines.items():
        path = tmp_path / f"{schema}.tsv"
        path.write_text("\n".join(rows) + "\n")
        table = read_variant_list(path, schema)
        pd.testing.assert_frame_equal(table.drop(columns="line"), expected)
        assert list(table["line"]) == [1, 2, 3]
    vcf = tmp_path / "v.vcf.gz"
    with gzip.open(vcf, "wt") as handle:
        handle.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchr1\t101\tv1\tA\tG,T\nchr2\t303\t.\tC\tCTT\n")
    table = read_variant_list(vcf)  # auto: a VCF by its name
    assert list(table["allele2"]) == ["G", "T", "CTT"] and list(table["line"]) == [3, 3, 4]
    assert list(table["variant_id"]) == ["v1", "v1", "chr2:303:C:CTT"]
    with pytest.raises(InputError, match=r"plink\.tsv, line 2: the 'plink' schema has 6 .* this line has 5"):
        (tmp_path / "plink.tsv").write_text("chr1\tv1\t0\t101\tA\tG\nchr1\t202\tv2\tCA\tC\n")
        read_variant_list(tmp_path / "plink.tsv", "plink")


def test_bad_variants_are_named_with_their_lines_then_refused_or_skipped(models, genome, tmp_path):
    path, texts = genome
    a = texts["chrA"].upper()
    wrong = "ACGT"[("ACGT".index(a[1499]) + 2) % 4]
    lines = [f"chrA\t1000\t{a[999]}\tT\tgood", f"chrA\t1500\t{wrong}\tA\twrong_ref", f"chrA\t1600\t{a[1599]}\tN\talt_n",
             f"chrA\t50\t{a[49]}\tA\tnear_start", f"chrA\t1000\t{a[999]}\tT\tduplicate", "chrZ\t100\tA\tC\tno_chrom",
             f"A\t1700\t{a[1699]}\tC\tno_prefix"]
    variants = tmp_path / "bad.tsv"
    variants.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as refused:
        score_variants(models[0], path, variants)
    message = str(refused.value)
    assert "5 of 7 variant(s)" in message and "--skip-bad" in message
    for expected in (f"line 2: chrA:1500 {wrong}>A: the FASTA has {a[1499]}", "line 3: chrA:1600", "allele2 'N'",
                     "line 4: chrA:50", "line 5: chrA:1000", "the same variant as line 1", "line 6: chrZ:100"):
        assert expected in message
    table = score_variants(models[0], path, variants, skip_bad=True)
    assert list(table["variant_id"]) == ["good", "no_prefix"]  # 'A' matched to the FASTA's chrA
    assert list(table["chr"]) == ["chrA", "chrA"]


def test_peaks_are_chosen_and_windowed_as_the_official_scorer_does(genome, tmp_path):
    path, texts = genome
    peaks = tmp_path / "peaks.narrowPeak"
    rows = [("chrA", 1000, 1400, 150), ("chrA", 1000, 1400, 150), ("chrA", 0, 120, 60), ("chrB", 500, 900, 200)]
    peaks.write_text("".join(f"{c}\t{s}\t{e}\tp\t1\t.\t1\t1\t{i}\t{m}\n" for i, (c, s, e, m) in enumerate(rows)))
    with ChromosomeReader(path) as reader:
        table, unusable = read_peaks(peaks, reader.sizes, LENGTH)
        windows = peak_windows(reader.sequence("chrA"), table["start"].to_numpy()[:1],
                               table["summit"].to_numpy()[:1], LENGTH)
    assert list(table["peak_id"]) == ["chrA:1000-1400", "chrB:500-900"] and unusable == 2
    # pyfaidx get_seq(chrom, summit - 100, summit + 99), 1-based: one base left of the centred window
    assert windows[0].tobytes().decode() == texts["chrA"][1150 - FLANK - 1:1150 + FLANK - 1]


# --- the command ----------------------------------------------------------------------------------------

def _write_variants(texts, path):
    rows = variant_rows(texts)
    path.write_text("".join(f"{r.chr}\t{r.pos}\t{r.allele1}\t{r.allele2}\t{r.variant_id}\n"
                            for r in rows.itertuples()))
    return path


def _variants_command(saved_models, genome_path, variants, peaks, out, *extra):
    return ["variants", "--model", *map(str, saved_models), "--genome", str(genome_path), "--variants", str(variants),
            "--peaks", str(peaks), "--num-shuffles", "4", "--chunk-size", "1", "--batch-size", "2", "--out", str(out),
            *extra]


@pytest.fixture(scope="module")
def command_inputs(genome, tmp_path_factory):
    path, texts = genome
    folder = tmp_path_factory.mktemp("variant_inputs")
    peaks = folder / "peaks.bed"
    peaks.write_text("chrA\t400\t700\nchrA\t1200\t1500\nchrA\t2300\t2600\nchrB\t300\t600\nchrB\t1100\t1600\n")
    return path, _write_variants(texts, folder / "variants.tsv"), peaks


@pytest.fixture(scope="module")
def command_run(saved_models, command_inputs, tmp_path_factory):
    genome_path, variants, peaks = command_inputs
    out = tmp_path_factory.mktemp("variant_run") / "scores"
    assert cli_main(_variants_command(saved_models, genome_path, variants, peaks, out, "--hdf5", "--plot", "del")) == 0
    return out


def test_variants_command_writes_the_long_table_summary_and_pvalues(command_run, models, command_inputs):
    genome_path, variants, peaks = command_inputs
    scores = pd.read_csv(command_run / "variant_scores.tsv", sep="\t")
    assert list(scores["variant_id"]) == ["snv", "snv", "del", "del", "ins", "ins", "del2", "del2"]
    assert list(scores["allele1"][4:6]) == ["-", "-"]
    expected = score_variants(models, genome_path, variants, peaks=peaks)
    np.testing.assert_allclose(scores["logfc"], expected["logfc"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(scores["active_allele_quantile"], expected["active_allele_quantile"])
    # p-values: ranks among the shuffled variants' scores of the same model, recomputed here
    shuffled = pd.read_csv(command_run / "shuffled_scores.tsv", sep="\t")
    assert len(shuffled) == 4 * 4 * 2 and shuffled["random_seed"].nunique() == 16
    for model in (0, 1):
        null = shuffled.loc[shuffled["model"] == model, "jsd"].to_numpy()
        mine = scores[scores["model"] == model]
        right = np.array([(np.sum(null >= x) + 1) / (len(null) + 1) for x in mine["jsd"]])
        np.testing.assert_allclose(mine["jsd.pval"], right, rtol=1e-6)
    summary = pd.read_csv(command_run / "variant_scores.mean.tsv", sep="\t")
    np.testing.assert_allclose(summary["logfc.mean"], scores["logfc"].to_numpy().reshape(4, 2).mean(axis=1),
                               rtol=1e-6)
    np.testing.assert_allclose(summary["jsd.mean.pval"],
                               np.exp(np.log(scores["jsd.pval"].to_numpy().reshape(4, 2)).mean(axis=1)), rtol=1e-6)
    with h5py.File(command_run / "variant_predictions.h5") as handle:
        counts = handle["observed/allele2_pred_counts"][:]
        assert counts.shape == (2, 4) and handle["observed/allele1_pred_profiles"].shape == (2, 4, OUTPUT_LENGTH)
        assert [v.decode() for v in handle["variants/variant_id"][:]] == ["snv", "del", "ins", "del2"]
    np.testing.assert_allclose(counts.T.reshape(-1), scores["allele2_pred_counts"], rtol=1e-6)
    assert (command_run / "plots" / "del.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (command_run / "logs" / "chunks").exists()


@pytest.mark.slow  # starts a second interpreter, killed after its chunks
def test_a_killed_run_resumes_to_the_same_bytes(command_run, saved_models, command_inputs, tmp_path):
    genome_path, variants, peaks = command_inputs
    out = tmp_path / "killed"
    argv = _variants_command(saved_models, genome_path, variants, peaks, out, "--hdf5")
    killed = subprocess.run([sys.executable, str(HERE / "variants_kill_after_chunks.py"), "9", *argv],
                            capture_output=True, text=True, timeout=3600)  # a hang guard only
    assert killed.returncode == -9, killed.stderr[-2000:]
    done = sorted(p.name for p in (out / "logs" / "chunks").glob("*.npz"))
    assert len(done) == 9 and not (out / "variant_scores.tsv").exists()
    assert cli_main(argv) == 2  # the folder holds a run: it is not silently replaced
    assert cli_main([*argv, "--resume"]) == 0
    for name in ("variant_scores.tsv", "variant_scores.mean.tsv", "shuffled_scores.tsv", "peak_scores.tsv"):
        assert (out / name).read_bytes() == (command_run / name).read_bytes(), name
    with h5py.File(out / "variant_predictions.h5") as resumed, \
            h5py.File(command_run / "variant_predictions.h5") as whole:
        np.testing.assert_array_equal(resumed["observed/allele1_pred_profiles"][:],
                                      whole["observed/allele1_pred_profiles"][:])


def test_resume_with_changed_inputs_is_refused(saved_models, command_inputs, genome, tmp_path):
    genome_path, variants, peaks = command_inputs
    out = tmp_path / "run"
    argv = _variants_command(saved_models[:1], genome_path, variants, peaks, out)
    assert cli_main(argv) == 0
    changed = tmp_path / "changed.tsv"
    changed.write_text(variants.read_text().replace("\tsnv\n", "\tfirst\n"))
    argv[argv.index(str(variants))] = str(changed)
    assert cli_main([*argv, "--resume"]) == 2


def test_bias_models_are_refused_and_factorised_models_warned(genome, command_inputs, tmp_path, capsys):
    from bias_models.factorised import with_bias

    genome_path, variants, _ = command_inputs
    keras.utils.set_random_seed(4)
    bias = build_model("bpnet", filters=4, n_dil_layers=1, layer_prefix="", input_length=LENGTH,
                       output_length=OUTPUT_LENGTH)
    bias_path = tmp_path / "trained.keras"
    bias.save(bias_path)
    base = ["variants", "--genome", str(genome_path), "--variants", str(variants)]
    assert cli_main([*base, "--model", str(bias_path), "--out", str(tmp_path / "bias")]) == 2
    assert "looks like a bias model" in capsys.readouterr().err and not (tmp_path / "bias").exists()
    factorised = tmp_path / "model.keras"
    with_bias(tiny_bpnet(2), bias).save(factorised)
    assert cli_main([*base, "--model", str(factorised), "--out", str(tmp_path / "with_bias")]) == 0
    assert "bias-factorised model" in capsys.readouterr().out
    assert cli_main([*base, "--model", str(factorised), "--no-bias", "--out", str(tmp_path / "no_bias")]) == 0
    assert "bias-factorised" not in capsys.readouterr().out
    with_bias_scores = pd.read_csv(tmp_path / "with_bias" / "variant_scores.tsv", sep="\t")
    no_bias_scores = pd.read_csv(tmp_path / "no_bias" / "variant_scores.tsv", sep="\t")
    expected = score_variants(tiny_bpnet(2), genome_path, variants)
    np.testing.assert_allclose(no_bias_scores["logfc"], expected["logfc"], rtol=1e-5, atol=1e-8)
    assert not np.allclose(with_bias_scores["logfc"], expected["logfc"])


def test_parquet_without_pyarrow_and_an_out_under_a_file_are_refused_before_any_work(monkeypatch, saved_models,
                                                                                    command_inputs, tmp_path, capsys):
    genome_path, variants, _ = command_inputs
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert cli_main(["variants", "--model", str(saved_models[0]), "--genome", str(genome_path), "--variants",
                     str(variants), "--parquet", "--out", str(tmp_path / "out")]) == 2
    assert "pip install 'dream-keras[parquet]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    (tmp_path / "a_file").write_text("mine\n")
    assert cli_main(["variants", "--model", str(saved_models[0]), "--genome", str(genome_path), "--variants",
                     str(variants), "--out", str(tmp_path / "a_file" / "out")]) == 2
    assert f"{tmp_path / 'a_file'} is a file" in capsys.readouterr().err
