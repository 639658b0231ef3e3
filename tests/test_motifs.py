"""``dream-keras motifs``: TF-MoDISco (modisco-lite) on a contributions file.

Patterns named by TOMTOM (memelite) against the bundled database; bad inputs stop before anything is written.

The contributions here have a known answer: CTCF instances (sampled from JASPAR MA0139.2) planted
in random sequences, their bases scored by the motif's log-odds, everything else noise.

The tests that run TF-MoDISco or TOMTOM are marked slow: in a fresh environment their first use
compiles the packages' numba kernels (one to three minutes on 2 cores; numba caches them after).
"""

from __future__ import annotations

import gzip
import json
import re

import h5py
import numpy as np
import pandas as pd
import pytest
from report_checks import decoded_image_sizes, parse_report

from data_prep.errors import InputError
from data_prep.motifs import bundled_motif_path, read_meme
from dream_keras.cli import main
from dream_keras.interpret.motifs import discover_motifs, load_motif_database, match_patterns, read_contribution_windows
from dream_keras.interpret.motifs.bias_check import motif_bias_check
from dream_keras.interpret.motifs.matching import benjamini_hochberg
from dream_keras.interpret.motifs.patterns import Pattern
from dream_keras.interpret.tracks import write_contribution_hdf5

DATABASE = "motif_database.meme.gz"


def planted_contributions(path, n=160, length=600, motif="MA0139.2", seed=0, scale=1.0):
    """A contributions file (``dream-keras contribs`` layout) with a planted motif.

    One sampled ``motif`` instance per region, within 100 bp of the centre on a random strand, scored
    ``scale`` x log-odds.
    """
    rng = np.random.default_rng(seed)
    ppm = {m.identifier: m for m in read_meme(bundled_motif_path(DATABASE))}[motif].probabilities
    width = len(ppm)
    log_odds = np.log2((ppm + 0.01) / 0.25)
    bases = rng.integers(0, 4, size=(n, length))
    hypothetical = rng.normal(0.0, 0.01, size=(n, length, 4)).astype(np.float32)
    for row in range(n):
        start = length // 2 + int(rng.integers(-100, 100))
        site = np.minimum((rng.random((width, 1)) > np.cumsum(ppm, axis=1)).sum(axis=1), 3)
        weights = log_odds
        if rng.random() < 0.5:
            site, weights = 3 - site[::-1], log_odds[::-1, ::-1]
        bases[row, start:start + width] = site
        hypothetical[row, start:start + width] += scale * weights
    onehot = np.eye(4, dtype=np.uint8)[bases]
    write_contribution_hdf5(path, onehot, hypothetical, np.array(["chr1"] * n), np.arange(n) * 1000,
                            np.arange(n) * 1000 + length // 2, "ACGT", {"method": "planted", "output": "none"})
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return planted_contributions(tmp_path_factory.mktemp("contribs") / "planted.profile_scores.h5")


#: runs TF-MoDISco and TOMTOM (numba kernels compiled on first use in an environment)
compiles = pytest.mark.slow


@pytest.fixture(scope="module")
def motifs_folder(planted, tmp_path_factory):
    out = tmp_path_factory.mktemp("motifs") / "ctcf"
    assert main(["motifs", "--contribs", str(planted), "--out", str(out)]) == 0
    return out


def test_the_bundled_database_holds_the_enzyme_motifs_and_jaspar_vertebrates():
    motifs, source = load_motif_database()
    identifiers = [m.identifier for m in motifs]
    assert source.endswith(DATABASE) and len(motifs) == 893
    assert identifiers[:14] == [f"DNASE_{i}" for i in range(6, 0, -1)] + ["TN5_8", "TN5_6", "TN5_7"] + \
        [f"TN5_{i}" for i in range(5, 0, -1)]
    jaspar = [m for m in motifs if m.identifier.startswith("MA")]
    assert len(jaspar) == 879 and len({m.identifier.split(".")[0] for m in jaspar}) == 879  # one version each
    ctcf = next(m for m in motifs if m.identifier == "MA0139.2")
    assert ctcf.name == "CTCF" and ctcf.probabilities.shape == (15, 4)
    np.testing.assert_allclose(ctcf.probabilities.sum(axis=1), 1.0, atol=1e-5)
    notice = (bundled_motif_path(DATABASE).parent / "NOTICE.txt").read_text()
    assert DATABASE in notice and "CC BY 4.0" in notice and "pyjaspar 4.0.0" in notice


@pytest.mark.parametrize("body, line, words", [
    ("MOTIF A\nletter-probability matrix: alength= 4 w= 2\n0.1 0.2 0.7\n0.25 0.25 0.25 0.25\n", 3,
     "4 probabilities"),
    ("MOTIF A\nletter-probability matrix: alength= 4 w= 3\n0.1 0.2 0.3 0.4\n0.25 0.25 0.25 0.25\n", 2, "w=3"),
    ("MOTIF A\nletter-probability matrix: alength= 20 w= 1\n0.25 0.25 0.25 0.25\n", 2, "alength= 20"),
    ("MOTIF A\nletter-probability matrix: alength= 4 w= two\n0.25 0.25 0.25 0.25\n", 2, "w="),
    ("MOTIF A\n\nMOTIF B\nletter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n", 1, "no letter"),
    ("ALPHABET= ACDEFGHIKLMNPQRSTVWY\nMOTIF A\n", 1, "alphabet"),
    ("letter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n", 1, "without a MOTIF"),
])
def test_a_motif_file_that_does_not_parse_names_its_line(tmp_path, body, line, words):
    path = tmp_path / "bad.meme"
    path.write_text(body)
    with pytest.raises(InputError) as error:
        read_meme(path)
    assert f"{path}, line {line}" in str(error.value) and words in str(error.value)
    packed = tmp_path / "bad.meme.gz"
    packed.write_bytes(gzip.compress(body.encode()))
    with pytest.raises(InputError, match=f"line {line}"):
        read_meme(packed)


def test_q_values_are_benjamini_hochberg():
    from scipy.stats import false_discovery_control

    p = np.random.default_rng(1).random(893) ** 4
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"), rtol=1e-12)


@compiles
def test_database_motifs_are_their_own_best_matches():
    motifs, _ = load_motif_database()
    chosen = {m.identifier: m for m in motifs}
    queries = [Pattern(name, "pos", chosen[name].probabilities, chosen[name].probabilities - 0.25, 100)
               for name in ("MA0139.2", "TN5_1", "MA0099.4")]
    found = match_patterns(queries, motifs)
    assert [matches[0].identifier for matches in found] == ["MA0139.2", "TN5_1", "MA0099.4"]
    assert all(m[0].q_value < 1e-10 and m[0].p_value <= m[1].p_value <= m[2].p_value for m in found)
    assert found[1][0].is_enzyme and not found[0][0].is_enzyme


@compiles
def test_planted_ctcf_is_found_and_named(motifs_folder):
    table = pd.read_csv(motifs_folder / "motifs.tsv", sep="\t", keep_default_na=False)
    assert list(table["pattern"]) == ["pos_patterns.pattern_0"] and list(table["sign"]) == ["pos"]
    row = table.iloc[0]
    assert row["match_1"] == "MA0139.2" and row["name"] == "CTCF" and float(row["match_1_q"]) < 1e-6
    assert 140 <= row["n_seqlets"] <= 160 and not row["enzyme_motif"]
    # the planted instances are sampled from MA0139.2: the pattern's consensus is CTCF's core, either strand
    assert "CCAC" in row["consensus"].upper() or "GTGG" in row["consensus"].upper()
    summary = json.loads((motifs_folder / "motifs.json").read_text())
    assert summary["regions"] == 160 and summary["window"] == 500 and summary["max_seqlets"] == 50_000
    assert summary["named"] == {"pos_patterns.pattern_0": "CTCF"} and summary["enzyme_patterns"] == []


@compiles
def test_results_file_has_tf_modisco_s_layout(motifs_folder):
    with h5py.File(motifs_folder / "modisco_results.h5", "r") as handle:
        assert handle.attrs["window_size"] == 500 and "neg_patterns" not in handle
        pattern = handle["pos_patterns/pattern_0"]
        width = pattern["sequence"].shape[0]
        assert pattern["sequence"].shape == pattern["contrib_scores"].shape == (width, 4)
        np.testing.assert_allclose(np.asarray(pattern["sequence"]).sum(axis=1), 1.0, atol=1e-5)
        n = int(pattern["seqlets/n_seqlets"][0])
        assert pattern["seqlets/start"].shape == (n,) and pattern["seqlets/example_idx"][:].max() < 160


@compiles
def test_motifs_page_is_one_offline_file_with_logos_and_matches(motifs_folder):
    report = parse_report(motifs_folder / "motifs.html")
    assert report.external == [] and report.scripts == 0
    # CWM and PWM logo of the pattern, and a logo for each of its three matches
    assert len(decoded_image_sizes(report)) == 5
    names = [a["data-name"] for a, _ in report.cells if "data-pattern" in a]
    assert names == ["CTCF"]
    assert sorted(p.name for p in (motifs_folder / "logos").iterdir())[-2:] == [
        "pos_patterns.pattern_0.cwm.png", "pos_patterns.pattern_0.pwm.png"]
    assert "q = " in report.text and "MA0139.2 CTCF" in report.text


def test_a_used_folder_is_refused_before_anything_runs(planted, tmp_path, capsys):
    out = tmp_path / "motifs"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["motifs", "--contribs", str(planted), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    # --overwrite replaces only what a dream-keras command wrote: a folder of the user's is refused
    assert main(["motifs", "--contribs", str(planted), "--out", str(out), "--overwrite"]) == 2
    assert "notes.txt" in capsys.readouterr().err and [p.name for p in out.iterdir()] == ["notes.txt"]


def _write_layout(path, raw_shape, shap_shape=None):
    with h5py.File(path, "w") as handle:
        handle.create_dataset("raw/seq", data=np.zeros(raw_shape, dtype=np.int8))
        handle.create_dataset("shap/seq", data=np.zeros(shap_shape or raw_shape, dtype=np.float32))


@pytest.mark.parametrize("case, words", [
    ("positions first", "positions before channels"),
    ("too short", "shorter than the 500 bp window"),
    ("no shap", "has no shap/seq"),
    ("shapes differ", "raw/seq is (3, 4, 600) and shap/seq (3, 4, 500)"),
    ("not hdf5", "not an HDF5 file"),
    ("not one-hot", "not one-hot"),
])
def test_contributions_of_another_layout_or_length_stop_with_nothing_written(tmp_path, capsys, case, words):
    path = tmp_path / "scores.h5"
    if case == "positions first":
        _write_layout(path, (3, 600, 4))
    elif case == "too short":
        _write_layout(path, (3, 4, 400))
    elif case == "no shap":
        with h5py.File(path, "w") as handle:
            handle.create_dataset("raw/seq", data=np.zeros((3, 4, 600), dtype=np.int8))
    elif case == "shapes differ":
        _write_layout(path, (3, 4, 600), (3, 4, 500))
    elif case == "not hdf5":
        path.write_text("chr1\t0\t100\n")
    else:
        _write_layout(path, (3, 4, 600))
        with h5py.File(path, "a") as handle:
            handle["raw/seq"][0, :, 300] = 1
    with pytest.raises(InputError, match=re.escape(words)):
        read_contribution_windows(path, 500)
    out = tmp_path / "motifs"
    assert main(["motifs", "--contribs", str(path), "--out", str(out)]) == 2
    message = capsys.readouterr().err
    assert str(path) in message and words in message
    assert not out.exists()


def test_a_database_that_does_not_parse_stops_with_nothing_written(planted, tmp_path, capsys):
    database = tmp_path / "mine.meme"
    database.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF X1 mine\nletter-probability matrix: alength= 4 "
                        "w= 2\n0.5 0.5 0 0\n0.5 0.4\n")
    out = tmp_path / "motifs"
    assert main(["motifs", "--contribs", str(planted), "--out", str(out), "--motif-db", str(database)]) == 2
    assert f"{database}, line 8" in capsys.readouterr().err
    assert not out.exists()


def test_no_seqlet_gives_an_empty_but_valid_report(tmp_path):
    path = tmp_path / "flat.h5"
    onehot = np.eye(4, dtype=np.uint8)[np.random.default_rng(0).integers(0, 4, size=(20, 600))]
    write_contribution_hdf5(path, onehot, np.zeros((20, 600, 4), np.float32), np.array(["chr1"] * 20),
                            np.arange(20) * 1000, np.arange(20) * 1000 + 300, "ACGT")
    discovery = discover_motifs(path, tmp_path / "out", say=None)
    assert discovery.table.empty and list(discovery.table.columns)[:3] == ["pattern", "sign", "n_seqlets"]
    assert discovery.summary["seqlets"] == {"pos": 0, "neg": 0}
    with h5py.File(tmp_path / "out" / "modisco_results.h5", "r") as handle:
        assert list(handle.keys()) == [] and handle.attrs["window_size"] == 500
    report = parse_report(tmp_path / "out" / "motifs.html")
    assert report.images == [] and "No pattern was found" in report.text
    assert motif_bias_check(discovery.table)["verdict"] == "no patterns"


def test_the_motif_check_fails_on_an_enzyme_pattern_and_names_it():
    def table(rows):
        return pd.DataFrame(rows, columns=["pattern", "n_seqlets", "match_1", "match_1_q", "enzyme_motif"])

    clean = motif_bias_check(table([["pos_patterns.pattern_0", 300, "MA0139.2", 1e-8, False]]))
    assert clean["verdict"] == "pass" and clean["enzyme_patterns"] == []
    failed = motif_bias_check(table([["pos_patterns.pattern_0", 300, "MA0139.2", 1e-8, False],
                                     ["pos_patterns.pattern_1", 40, "TN5_1", 2e-3, True]]))
    assert failed["verdict"] == "fail"
    assert failed["enzyme_patterns"] == [{"pattern": "pos_patterns.pattern_1", "match": "TN5_1", "q_value": 2e-3,
                                          "n_seqlets": 40}]
    assert "pos_patterns.pattern_1 ~ TN5_1" in failed["message"]
