"""``dream-keras quickstart --synthetic``: the whole chain on generated data, here at a tiny size."""

import json
import math
import subprocess
import sys
import types

import pytest

from data_prep.errors import InputError
from dream_keras.cli import quickstart_synthetic


def test_help_names_the_synthetic_option():
    out = subprocess.run([sys.executable, "-m", "dream_keras.cli", "quickstart", "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and "--synthetic" in out.stdout


def test_a_folder_with_foreign_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        quickstart_synthetic.run(types.SimpleNamespace(out=str(tmp_path), overwrite=False, resume=False, epochs=None,
                                                       bias_epochs=None))
    # --overwrite of a folder that no dream-keras manifest describes: refused before anything runs
    args = types.SimpleNamespace(out=str(tmp_path), overwrite=True, resume=False, epochs=None, bias_epochs=None)
    with pytest.raises(InputError, match="notes.txt"):
        quickstart_synthetic.run(args)
    assert (tmp_path / "notes.txt").read_text() == "mine" and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.slow  # trains end to end (kept out of the quick subset)
def test_tiny_synthetic_quickstart_runs_end_to_end(tmp_path, monkeypatch, capsys):
    tiny = {"n_chroms": 3, "chrom_size": 150_000, "n_peaks": 120, "input_length": 512, "output_length": 256,
            "max_jitter": 16, "bias_options": {"filters": 4, "n_dil_layers": 1}, "bias_epochs": 1,
            "main_options": {"filters": 4, "n_dil_layers": 1}, "main_epochs": 2, "footprint_backgrounds": 8,
            "motif_peaks": 40, "motif_contribution_options": {"n_baselines": 2, "steps": 2}}
    for key, value in tiny.items():
        monkeypatch.setitem(quickstart_synthetic.SYNTHETIC, key, value)
    out = tmp_path / "qs"
    assert quickstart_synthetic.run(types.SimpleNamespace(out=str(out), overwrite=False, resume=False, epochs=None,
                                                          bias_epochs=None)) == 0
    printed = capsys.readouterr().out
    assert "count Pearson r: peaks" in printed and "CTCF x" in printed
    footprints = json.loads((out / "footprints.json").read_text())
    assert set(footprints) == {"CTCF", "tn5_1", "tn5_2", "tn5_3", "tn5_4", "tn5_5"}
    assert all(math.isfinite(v["count_gain"]) and v["count_gain"] > 0 for v in footprints.values())
    assert len(footprints["CTCF"]["profile"]) == 256
    assert (out / "footprints.png").stat().st_size > 1000
    assert (out / "chrombpnet" / "evaluation" / "logcounts_scatter.png").is_file()
    assert (out / "data" / "planted_sites.tsv").is_file()
    # the motif step ran on both models: a page each, and the summary the closing lines print
    motifs = json.loads((out / "motifs" / "summary.json").read_text())
    assert set(motifs) == {"bias_free", "bias"} and "bias-free model:" in printed
    for label in motifs:
        assert (out / "motifs" / label / "motifs.html").is_file()
        assert motifs[label]["motif_check"]["verdict"] in ("pass", "fail", "no patterns")
    # a second run into the same folder needs --overwrite, which replaces only what the quickstart wrote
    with pytest.raises(InputError, match="--overwrite"):
        quickstart_synthetic.run(types.SimpleNamespace(out=str(out), overwrite=False, resume=False, epochs=None,
                                                       bias_epochs=None))
    assert json.loads((out / "logs" / "manifest.json").read_text())["complete"] is True
