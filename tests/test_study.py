"""``dream-keras pipeline --samples``: studies of many samples.

The sample sheet, each sample's parameters, what is refused before anything runs, ``--summarize`` of a
study that has not started; and (slow) the bundled single-cell demonstration: fragments split into
per-group bigWigs (equal base for base to filtering each group by hand and converting it), then the
pipeline of every group with one bias model trained on the deepest.
"""

from __future__ import annotations

import gzip
import json
import pathlib

import numpy as np
import pandas as pd
import pyBigWig
import pytest
from report_checks import decoded_image_sizes, parse_report

from data_prep.errors import InputError
from data_prep.reads import reads_to_bigwig
from dream_keras.cli import main
from dream_keras.tasks.atac.study import read_sample_sheet, run_study, summarize_study
from dream_keras.tasks.atac.study.runner import sample_parameters

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = REPO / "data_prep" / "data" / "atac_mm10"
TINY = ["--input-length", "512", "--output-length", "256", "--max-jitter", "32", "--nonpeak-ratio", "4",
        "--nonpeak-stride", "256", "--bias-filters", "4", "--bias-n-dil-layers", "1", "--bias-epochs", "1",
        "--filters", "4", "--n-dil-layers", "1", "--epochs", "1", "--batch-size", "64", "--footprint-motifs", "CTCF",
        "--footprint-regions", "20", "--motif-peaks", "12"]


def _sheet(tmp_path, text: str, name: str = "samples.tsv") -> pathlib.Path:
    folder = tmp_path / "sheet"
    folder.mkdir(exist_ok=True)
    for file in ("a.bw", "b.bam", "c.tagAlign.gz", "peaks.narrowPeak", "bias.keras"):
        (folder / file).write_bytes(b"x")
    path = folder / name
    path.write_text(text)
    return path


def test_a_sample_sheet_reads_its_files_from_its_own_folder(tmp_path):
    sheet = read_sample_sheet(_sheet(tmp_path, "# three samples\nName\tReads\tpeaks\tbias-model\n"
                                               "A\ta.bw\tpeaks.narrowPeak\t\nB\tb.bam\t\tbias.keras\n"
                                               "C\tc.tagAlign.gz\tpeaks.narrowPeak\t\n"))
    folder = tmp_path / "sheet"
    assert [(r.name, r.signal, pathlib.Path(r.path).name) for r in sheet.rows] == [
        ("A", "bigwig", "a.bw"), ("B", "bam", "b.bam"), ("C", "tagalign", "c.tagAlign.gz")]
    assert sheet.rows[1].peaks is None and sheet.rows[1].bias_model == str(folder / "bias.keras")
    assert sheet.rows[0].line == 3
    csv = read_sample_sheet(_sheet(tmp_path, "sample,bigwig,peaks\nA,a.bw,peaks.narrowPeak\n", "s.csv"))
    assert csv.names() == ["A"]
    for text, message in (
            ("name\tbigwig\tbam\nA\ta.bw\tb.bam\n", r"line 2: sample 'A' has 2 signal files \(bigwig, bam\)"),
            ("name\tbigwig\n../up\ta.bw\n", r"sample name '../up' must be letters"),
            ("name\tbigwig\nA\ta.bw\nA\ta.bw\n", r"line 3: sample 'A' is also on line 2"),
            ("name\tbigwig\tpeaks\nA\ta.bw\tmissing.narrowPeak\n",
             r"peaks missing.narrowPeak of sample 'A' does not exist .*relative paths are read from the sheet's"),
            ("name\tsignal\nA\ta.bw\n", r"unknown column\(s\) 'signal'"),
            ("name\tpeaks\nA\tpeaks.narrowPeak\n", r"has no signal column")):
        with pytest.raises(InputError, match=message):
            read_sample_sheet(_sheet(tmp_path, text))


def test_each_sample_takes_its_row_then_the_shared_options_then_what_it_was_started_with(tmp_path):
    sheet = read_sample_sheet(_sheet(tmp_path, "name\treads\tpeaks\nA\ta.bw\tpeaks.narrowPeak\nB\tb.bam\t\n"))
    a, b = sheet.rows
    shared = {"genome": "/g.fa", "fold": "0", "epochs": 3, "peaks": "/shared.narrowPeak"}
    params = sample_parameters(a, shared, {"epochs": 9, "filters": 64, "genome": "/old.fa"})
    assert (params.bigwig, params.reads, params.peaks) == (a.path, None, a.peaks)
    assert (params.epochs, params.filters, params.genome, params.fold) == (3, 64, "/g.fa", "0")
    params = sample_parameters(b, shared, {}, bias_model="/study/A/bias/models/bias.keras")
    assert (params.reads, params.reads_format, params.peaks) == (b.path, "bam", "/shared.narrowPeak")
    assert params.bias_model == "/study/A/bias/models/bias.keras" and params.filters is None  # the registry default
    with pytest.raises(InputError, match=r"sample 'B' has no peaks: fill its peaks column .* or give --peaks"):
        sample_parameters(b, {"genome": "/g.fa", "fold": "0"}, {})
    with pytest.raises(InputError, match=r"sample 'A' needs --fold"):
        sample_parameters(a, {"genome": "/g.fa"}, {})


def test_what_a_study_refuses_before_anything_runs(tmp_path):
    path = _sheet(tmp_path, "name\tbigwig\tpeaks\tbias_model\nA\ta.bw\tpeaks.narrowPeak\tbias.keras\n"
                            "B\ta.bw\tpeaks.narrowPeak\t\n")
    sheet = read_sample_sheet(path)
    shared = {"genome": str(DATA / "genome.fa"), "fold": "0"}
    out = tmp_path / "study"
    with pytest.raises(InputError, match=r"--bias-from A: that sample has its own bias_model .*line 2"):
        run_study(sheet, out, shared, bias_from="A")
    with pytest.raises(InputError, match=r"--bias-model and --bias-from exclude each other"):
        run_study(sheet, out, {**shared, "bias_model": "/x.keras"}, bias_from="B")
    with pytest.raises(InputError, match=r"sample 'Z' is not in .*samples.tsv; its samples are A, B"):
        run_study(sheet, out, shared, only="Z")
    # B's bias model comes from A, which has not trained one: a job of an array started too early
    with pytest.raises(InputError, match=r"the bias model of sample 'B' \(--bias-from B\) is not trained yet"):
        run_study(read_sample_sheet(_sheet(tmp_path, "name\tbigwig\tpeaks\nA\ta.bw\tpeaks.narrowPeak\n"
                                                     "B\ta.bw\tpeaks.narrowPeak\n")),
                  out, shared, bias_from="B", only="A")
    (out / "A").mkdir(parents=True)
    (out / "A" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"study/A hold\(s\) an earlier run: pass --resume"):
        run_study(sheet, out, shared, only="A")
    with pytest.raises(InputError, match=r"study/A is not empty but holds no pipeline"):
        run_study(sheet, out, shared, only="A", resume=True)
    assert (out / "A" / "notes.txt").read_text() == "mine" and sorted(p.name for p in out.iterdir()) == ["A"]


def test_summarize_lists_every_sample_before_any_has_run(tmp_path):
    sheet = read_sample_sheet(_sheet(tmp_path, "name\tbigwig\tpeaks\nA\ta.bw\tpeaks.narrowPeak\n"
                                               "B\ta.bw\tpeaks.narrowPeak\n"))
    summary = summarize_study(sheet, tmp_path / "study")
    table = pd.read_csv(tmp_path / "study" / "summary.tsv", sep="\t")
    assert list(table["sample"]) == ["A", "B"] and list(table["status"]) == ["not started"] * 2
    assert summary.not_finished == {"A": "not started", "B": "not started"}
    report = parse_report(tmp_path / "study" / "report.html")
    assert [a["data-status"] for a, _ in report.cells if "data-status" in a] == ["not started"] * 2
    assert report.images == [] and report.scripts == 0


def _filtered_by_hand(fragments: pathlib.Path, barcodes: set, out: pathlib.Path) -> pathlib.Path:
    with gzip.open(fragments, "rt") as source, open(out, "w") as sink:
        for line in source:
            if not line.startswith("#") and line.split("\t")[3] in barcodes:
                sink.write(line)
    return out


@pytest.mark.slow  # trains tiny models for two samples
def test_the_bundled_single_cell_demonstration(tmp_path, capsys):
    bigwigs = tmp_path / "bigwigs"
    assert main(["prep", "bigwig", "--fragments", str(DATA / "fragments.tsv.gz"), "--cell-groups",
                 str(DATA / "cell_groups.tsv"), "--genome", str(DATA / "genome.fa"), "--data-type", "ATAC",
                 "--min-fragments", "1000", "--out-dir", str(bigwigs)]) == 0
    summary = pd.read_csv(bigwigs / "groups_summary.tsv", sep="\t", keep_default_na=False)
    assert list(summary["status"]) == ["written", "written", "skipped", "unassigned"]
    groups = pd.read_csv(DATA / "cell_groups.tsv", sep="\t")
    for name in ("cluster_A", "cluster_B"):
        own = _filtered_by_hand(DATA / "fragments.tsv.gz", set(groups.loc[groups["cluster"] == name, "barcode"]),
                                tmp_path / f"{name}.tsv")
        hand = reads_to_bigwig(tmp_path / f"{name}.bw", DATA / "genome.fa", data_type="ATAC", fragments=own)
        assert hand.input_shift == (0, 0)
        with pyBigWig.open(str(bigwigs / f"{name}.bw")) as ours, pyBigWig.open(str(tmp_path / f"{name}.bw")) as theirs:
            for chrom, size in theirs.chroms().items():
                assert np.array_equal(np.nan_to_num(ours.values(chrom, 0, size, numpy=True)),
                                      np.nan_to_num(theirs.values(chrom, 0, size, numpy=True))), (name, chrom)
        row = summary.set_index("group").loc[name]
        assert int(row["fragments"]) == hand.fragments and int(row["insertions"]) == hand.kept

    study = tmp_path / "study"
    common = ["--genome", str(DATA / "genome.fa"), "--peaks", str(DATA / "peaks.narrowPeak"), "--fold", "0",
              "--fold-dir", str(DATA / "folds")]
    assert main(["pipeline", "--samples", str(bigwigs / "samples.tsv"), *common, "--bias-from", "cluster_A",
                 "--out", str(study), *TINY]) == 0
    table = pd.read_csv(study / "summary.tsv", sep="\t")
    assert list(table["sample"]) == ["cluster_A", "cluster_B"] and set(table["status"]) == {"finished"}
    assert list(table["insertions"]) == list(summary["insertions"][:2].astype(int))
    assert list(table["bias_model"]) == ["trained", "cluster_A/bias/models/bias.keras"]
    for row in table.itertuples():
        metrics = json.loads((study / row.sample / "chrombpnet" / "evaluation" / "metrics.json").read_text())
        assert row.counts_pearsonr_peaks == pytest.approx(metrics["counts_metrics"]["peaks"]["pearsonr"], rel=1e-12)
        assert row.profile_median_jsd_peaks == pytest.approx(metrics["profile_metrics"]["peaks"]["median_jsd"],
                                                             rel=1e-12)
        qc = json.loads((study / row.sample / "chrombpnet" / "evaluation" / "bias_qc.json").read_text())
        assert row.bias_count_check == qc["count"]["verdict"]
    # cluster_B reused cluster_A's bias model, rescaled to its own depth: only the count bias differs
    import keras

    trained = keras.saving.load_model(study / "cluster_A" / "bias" / "models" / "bias.keras", compile=False)
    rescaled = keras.saving.load_model(study / "cluster_B" / "chrombpnet" / "models" / "bias_scaled.keras",
                                       compile=False)
    changed = [a.name for a, b in zip(trained.weights, rescaled.weights)
               if not np.array_equal(a.numpy(), b.numpy())]
    assert len(changed) == 1 and "bias" in changed[0]
    report = parse_report(study / "report.html")
    assert sorted(value for _, _, value in report.external) == ["cluster_A/report/report.html",
                                                                "cluster_B/report/report.html"]
    assert len(decoded_image_sizes(report)) == 2  # the two count scatters, side by side
    assert [a["data-status"] for a, _ in report.cells if "data-status" in a] == ["finished", "finished"]
    # one sample again (a job of an array): everything is complete and skipped
    assert main(["pipeline", "--samples", str(bigwigs / "samples.tsv"), *common, "--out", str(study),
                 "--only", "cluster_B", "--resume", *TINY]) == 0
    assert pd.read_csv(study / "cluster_B" / "logs" / "stages.tsv", sep="\t").query("invocation == 2")[
        "action"].eq("skipped").all()
    capsys.readouterr()
    assert main(["pipeline", "--samples", str(bigwigs / "samples.tsv"), "--out", str(study), "--summarize"]) == 0
    assert "study: 2 of 2 samples finished" in capsys.readouterr().out
