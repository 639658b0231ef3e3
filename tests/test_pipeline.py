"""``dream-keras pipeline`` end to end from the bundled bigWig with tiny models (1 epoch), then ``--resume``.

Every finished stage skipped; a lost completion record: only that stage (and what follows it) runs again; changed
options, two signals and a foreign folder refused.
"""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from console_capture import console_to_file, noise_in, tensorflow_started
from report_checks import chromium_dom, decoded_image_sizes, metric_cells, needs_chromium, parse_report

from dream_keras.cli import main

# every test here trains tiny models end to end (a pipeline or a run): not part of the quick subset
pytestmark = pytest.mark.slow

STAGES = ["bigwig", "nonpeaks", "bias", "chrombpnet", "footprints", "motifs", "report"]
TINY = ["--input-length", "512", "--output-length", "256", "--max-jitter", "32", "--nonpeak-ratio", "4",
        "--nonpeak-stride", "256", "--bias-filters", "4", "--bias-n-dil-layers", "1", "--bias-epochs", "1",
        "--filters", "4", "--n-dil-layers", "1", "--epochs", "1", "--batch-size", "64", "--motif-peaks", "12"]


def _inputs(atac):
    return ["--genome", str(atac / "genome.fa"), "--peaks", str(atac / "peaks.narrowPeak"), "--fold", "0",
            "--fold-dir", str(atac / "folds")]


@pytest.fixture(scope="module")
def atac(data_dir, tmp_path_factory):
    """The bundled ATAC data, with a copy of the peaks that the last test changes."""
    import shutil

    copy = tmp_path_factory.mktemp("atac_inputs")
    for name in ("genome.fa", "genome.fa.fai", "tn5_insertions.bw", "peaks.narrowPeak", "folds"):
        (shutil.copytree if (data_dir / "atac_mm10" / name).is_dir() else shutil.copy)(
            data_dir / "atac_mm10" / name, copy / name)
    return copy


@pytest.fixture(scope="module")
def pipeline(atac, tmp_path_factory):
    """The pipeline's run folder; what it printed is in ``console.txt`` beside it (as redirected to a file)."""
    out = tmp_path_factory.mktemp("pipeline") / "run"
    tensorflow_started()
    with console_to_file(out.parent / "console.txt"):
        status = main(["pipeline", "--bigwig", str(atac / "tn5_insertions.bw"), *_inputs(atac), "--out", str(out),
                       *TINY])
    assert status == 0
    return out


def _log(out) -> pd.DataFrame:
    return pd.read_csv(out / "logs" / "stages.tsv", sep="\t")


def _actions(out, invocation) -> dict:
    rows = _log(out).query("invocation == @invocation")
    return dict(zip(rows["stage"], rows["action"]))


def _flat(metrics: dict) -> dict:
    return {(group, subset, key): value for group, subsets in metrics.items() for subset, values in subsets.items()
            for key, value in values.items()}


def _records(out) -> dict:
    return {stage: json.loads((out / stage / "completed.json").read_text()) for stage in STAGES}


def test_every_stage_ran_and_left_its_outputs(pipeline, atac):
    assert _actions(pipeline, 1) == {stage: "ran" for stage in STAGES}
    records = _records(pipeline)
    assert records["bigwig"]["outputs"]["bigwig"]["path"] == str((atac / "tn5_insertions.bw").resolve())
    for name in ("model.keras", "model_nobias.keras", "bias_scaled.keras"):
        assert (pipeline / "chrombpnet" / "models" / name).is_file()
    assert (pipeline / "bias" / "models" / "bias.keras").is_file()
    for stage, record in records.items():
        for name, output in record["outputs"].items():
            path = pipeline / output["path"]
            assert path.exists(), (stage, name)
            assert output["size"] is None or output["size"] == path.stat().st_size
    # each training run has its own report too
    assert (pipeline / "bias" / "evaluation" / "report.html").is_file()
    assert (pipeline / "chrombpnet" / "evaluation" / "report.html").is_file()


def test_footprints_hold_enzyme_and_tf_motifs_and_agree_with_the_bias_qc(pipeline):
    table = pd.read_csv(pipeline / "footprints" / "footprints.tsv", sep="\t")
    assert list(table["motif"]) == ["tn5_1", "tn5_2", "tn5_3", "tn5_4", "tn5_5", "CTCF", "SP1", "FOS::JUN", "Nrf1"]
    summary = _records(pipeline)["footprints"]["summary"]
    assert summary["n_sequences"] == 15 * 4  # the 15 test peaks' nonpeaks at ratio 4
    # the same model, motifs and test nonpeaks as the training run's footprint check: the same maxima
    qc = json.loads((pipeline / "chrombpnet" / "evaluation" / "bias_qc.json").read_text())["footprint"]
    for motif, value in qc["max_by_motif"].items():
        assert summary["motifs"][motif]["normalized_max"] == pytest.approx(value, rel=1e-5)


def test_the_console_says_each_stage_once_in_plain_lines(pipeline):
    """No retracing notices, C++ log lines, progress-bar control characters or warning source lines."""
    printed = (pipeline.parent / "console.txt").read_text()
    assert noise_in(printed) == []
    assert [line.split("]")[0] for line in printed.splitlines() if line.startswith("[") and "/7]" in line] == \
        [f"[{number}/7" for number in range(1, 8)]


def test_pipeline_report_holds_every_stage(pipeline):
    page = pipeline / "report" / "report.html"
    report = parse_report(page)
    assert report.external == [] and report.scripts == 0
    # bias run (3) + main run (4) + 9 footprints
    assert len(decoded_image_sizes(report)) == 16
    status = {a["data-stage"]: None for a, _ in report.cells if "data-stage" in a}
    assert list(status) == STAGES
    assert [a["data-status"] for a, _ in report.cells if "data-status" in a] == ["complete"] * 6 + ["this page"]
    metrics = json.loads((pipeline / "chrombpnet" / "evaluation" / "metrics.json").read_text())
    cells = metric_cells(report)
    # the bias model's table, then the main model's: 15 cells each, the main one equal to its metrics.json
    assert len(cells) == 30
    assert {key: exact for key, _, exact in cells[15:]} == _flat(metrics)


def test_motifs_stage_explains_sampled_peaks_and_the_report_shows_the_motif_check(pipeline):
    import h5py

    record = _records(pipeline)["motifs"]
    summary = record["summary"]
    # 12 of the peaks with a whole window, sampled; their contributions in the official layout
    assert summary["peaks"] == 12 and summary["output"] == "profile"
    assert summary["method"] == "deepshap"  # "auto": every layer of BPNet has a DeepLIFT rule
    with h5py.File(pipeline / "motifs" / "contributions.profile_scores.h5", "r") as handle:
        assert handle["shap/seq"].shape == handle["raw/seq"].shape == (12, 4, 512)
    # a one-epoch model on 12 peaks leaves too few seqlets for a pattern: an empty, valid result, said so
    table = pd.read_csv(pipeline / "motifs" / "motifs.tsv", sep="\t")
    check = json.loads((pipeline / "motifs" / "motif_check.json").read_text())
    assert table.empty and check["verdict"] == "no patterns" and summary["motif_check"] == check
    report = parse_report(pipeline / "report" / "report.html")
    assert "No pattern was found" in report.text and "motif check" in report.text
    assert 'data-check="motif" data-verdict="no patterns"' in (pipeline / "report" / "report.html").read_text()


@needs_chromium
def test_pipeline_report_renders_in_headless_chromium(pipeline):
    """A real browser builds the page with every figure and table the parser found."""
    page = pipeline / "report" / "report.html"
    dom = chromium_dom(page)
    assert dom.count("<img") == len(parse_report(page).images) == 16
    assert all(f'id="{table}"' in dom for table in ("stages", "footprints-table"))


def test_resume_skips_every_finished_stage(pipeline, capsys):
    before = _records(pipeline)
    model_time = os.stat(pipeline / "chrombpnet" / "models" / "model.keras").st_mtime_ns
    assert main(["pipeline", "--out", str(pipeline), "--resume"]) == 0
    assert _actions(pipeline, 2) == {stage: "skipped" for stage in STAGES}
    assert _records(pipeline) == before
    assert os.stat(pipeline / "chrombpnet" / "models" / "model.keras").st_mtime_ns == model_time
    assert "ran nothing" in capsys.readouterr().out


def test_a_lost_last_record_reruns_only_the_last_stage(pipeline):
    before = _records(pipeline)
    (pipeline / "report" / "completed.json").unlink()
    assert main(["pipeline", "--out", str(pipeline), "--resume"]) == 0
    invocation = int(_log(pipeline)["invocation"].max())
    assert _actions(pipeline, invocation) == {**{stage: "skipped" for stage in STAGES[:-1]}, "report": "ran"}
    after = _records(pipeline)
    assert after["report"]["invocation"] == invocation and after["bias"] == before["bias"]


def test_an_interrupted_training_stage_continues_and_later_stages_follow(pipeline):
    metrics_path = pipeline / "chrombpnet" / "evaluation" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    bias_record = _records(pipeline)["bias"]
    scaled = pipeline / "chrombpnet" / "models" / "bias_scaled.keras"
    scaled_time = os.stat(scaled).st_mtime_ns
    # as if killed after the fit, before the stage's record: the run folder resumes from its checkpoint
    (pipeline / "chrombpnet" / "completed.json").unlink()
    metrics_path.unlink()
    assert main(["pipeline", "--out", str(pipeline), "--resume"]) == 0
    invocation = int(_log(pipeline)["invocation"].max())
    assert _actions(pipeline, invocation) == {"bigwig": "skipped", "nonpeaks": "skipped", "bias": "skipped",
                                              "chrombpnet": "ran", "footprints": "ran", "motifs": "ran",
                                              "report": "ran"}
    assert _records(pipeline)["bias"] == bias_record
    # continued in its run folder (the rescaled bias model is read back, not made again), and the
    # checkpoint's weights give the same test metrics
    assert os.stat(scaled).st_mtime_ns == scaled_time
    assert _flat(json.loads(metrics_path.read_text())) == pytest.approx(_flat(metrics))


def test_resume_with_other_options_is_refused(pipeline, capsys):
    assert main(["pipeline", "--out", str(pipeline), "--resume", "--epochs", "3"]) == 2
    assert "epochs (recorded 1, now 3)" in capsys.readouterr().err


def test_refused_starts(pipeline, atac, tmp_path, capsys):
    bigwig = str(atac / "tn5_insertions.bw")
    assert main(["pipeline", "--bigwig", bigwig, *_inputs(atac), "--out", str(pipeline)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["pipeline", "--bigwig", bigwig, "--tagalign", bigwig, *_inputs(atac), "--out",
                 str(tmp_path / "two")]) == 2
    assert "give the signal once" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["pipeline", "--bigwig", bigwig, *_inputs(atac), "--out", str(tmp_path / "mine"),
                 "--overwrite"]) == 2
    assert "notes.txt" in capsys.readouterr().err and (tmp_path / "mine" / "notes.txt").is_file()
    assert main(["pipeline", "--out", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err


@pytest.mark.slow  # a second tiny pipeline run
def test_overwrite_keeps_user_files_and_swaps_in_a_finished_pipeline(pipeline, atac, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(pipeline, copy)
    notes = copy / "bias" / "logs" / "notes.txt"  # inside a stage folder: not the tool's, never deleted
    notes.write_text("keep me")
    command = ["pipeline", "--bigwig", str(atac / "tn5_insertions.bw"), *_inputs(atac), "--out", str(copy),
               "--overwrite", *TINY]
    assert main(command) == 2
    assert "notes.txt" in capsys.readouterr().err and notes.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]  # no staging folder left
    notes.unlink()
    assert main(command) == 0
    assert json.loads((copy / "logs" / "manifest.json").read_text())["complete"] is True
    assert _actions(copy, 1) == {stage: "ran" for stage in STAGES}  # a new pipeline, started once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]
    assert (copy / "report" / "report.html").is_file()


def test_a_record_counts_only_while_its_outputs_are_unchanged(tmp_path):
    from dream_keras.tasks.atac.pipeline.stage_records import StageRecord, read_record, write_record

    root, folder = tmp_path, tmp_path / "stage"
    (folder / "sub").mkdir(parents=True)
    table = folder / "table.tsv"
    table.write_text("a\tb\n")
    outside = tmp_path.parent / f"{tmp_path.name}_input.bw"
    outside.write_bytes(b"1234")
    write_record(root, folder, StageRecord("stage", {"table": table, "sub": folder / "sub", "input": outside},
                                           {"n": 1}, 2.0, 1))
    document = json.loads((folder / "completed.json").read_text())
    assert document["outputs"] == {"table": {"path": "stage/table.tsv", "size": 4},
                                   "sub": {"path": "stage/sub", "size": None},
                                   "input": {"path": str(outside.resolve()), "size": 4}}
    record = read_record(root, folder)
    assert record.outputs["table"] == table and record.summary == {"n": 1}
    table.write_text("a\tb\nc\td\n")  # rewritten: another size
    assert read_record(root, folder) is None
    table.write_text("a\tb\n")
    (folder / "sub").rmdir()
    assert read_record(root, folder) is None
    (folder / "sub").mkdir()
    assert read_record(root, folder) is not None
    (folder / "completed.json").write_text('{"stage": "stage", "outp')  # cut short
    assert read_record(root, folder) is None


def test_the_command_module_imports_no_stage_code():
    code = ("import sys; import dream_keras.cli.pipeline; "
            "print(sorted(m for m in ('dream_keras.tasks.atac.pipeline.stages', 'dream_keras.tasks.atac.train', "
            "'dream_keras.tasks.atac.reporting', 'dream_keras.interpret') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_resume_stops_on_a_changed_input_and_reruns_what_read_it_when_allowed(pipeline, atac, capsys):
    """The last test of the module: it changes the peaks that the pipeline read."""
    peaks = atac / "peaks.narrowPeak"
    lines = peaks.read_text().splitlines()
    peaks.write_text("\n".join(lines[:-3]) + "\n")  # three peaks fewer
    before = _records(pipeline)
    assert main(["pipeline", "--out", str(pipeline), "--resume"]) == 2
    error = capsys.readouterr().err
    assert f"peaks {peaks} changed" in error and "--allow-changed-inputs" in error
    assert _records(pipeline) == before  # nothing ran
    assert main(["pipeline", "--out", str(pipeline), "--resume", "--allow-changed-inputs"]) == 0
    invocation = int(_log(pipeline)["invocation"].max())
    assert _actions(pipeline, invocation) == {"bigwig": "skipped", **{stage: "ran" for stage in STAGES[1:]}}
    record = json.loads((pipeline / "logs" / "pipeline.json").read_text())
    from data_prep.outputs.manifest import sha256_of

    assert record["inputs"]["peaks"]["sha256"] == sha256_of(peaks)
    assert _records(pipeline)["nonpeaks"]["inputs"]["peaks"]["sha256"] == sha256_of(peaks)
