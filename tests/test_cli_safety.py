"""Issue 18 through the command line, on the real mouse ATAC fixture with tiny models (1 epoch).

--overwrite with user files in every known subfolder name; a replacement that succeeds; kill -9 of
a replacement during training and during the swap, and of a fresh run in the middle of a write;
--resume/--config on changed inputs; predict's bigWig + HDF5 killed between their renames; and
corrupted FASTA / index / peaks / bigWig / fold / model files, each stopped with one message.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import h5py
import pyBigWig
import pytest
from tiny_atac import bias_args

from data_prep.outputs import manifest
from dream_keras.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def work(tmp_path_factory, atac, atac_nonpeaks):
    """The session's nonpeaks and a copy of the peaks that the tests may change, in one folder."""
    work = tmp_path_factory.mktemp("cli_safety")
    shutil.copy(atac / "peaks.narrowPeak", work / "peaks.narrowPeak")
    shutil.copy(atac_nonpeaks, work / "nonpeaks.narrowPeak")
    return work


def _bias_args(atac, work, out, *, genome=None, bigwig=None, peaks=None, fold_dir=None):
    """The session's bias run (``bias_run``) repeated into ``out``, on this module's copies of its inputs.

    Without XLA, as the session's in-process runs train (conftest.xla_off), in a subprocess too.
    """
    return bias_args(atac, work / "nonpeaks.narrowPeak", out, genome=genome, bigwig=bigwig,
                     peaks=peaks or work / "peaks.narrowPeak", fold_dir=fold_dir) + ["--jit-compile", "off"]


def _copy(run, to):
    shutil.copytree(run, to)
    return to


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_run_folder_manifest_lists_every_file(bias_run):
    record = manifest.read_manifest(bias_run)
    on_disk = {p.relative_to(bias_run).as_posix() for p in bias_run.rglob("*") if p.is_file()}
    assert record["complete"] is True
    assert set(record["files"]) == on_disk - {"logs/manifest.json"}
    assert {"models/bias.keras", "logs/run.json", "logs/training_log.csv", "evaluation/metrics.json",
            "logs/checkpoint/state.json"} <= set(record["files"])
    for name, listed in record["files"].items():
        assert listed["size"] == (bias_run / name).stat().st_size
        assert listed["sha256"] == manifest.sha256_of(bias_run / name)


USER_FILES = ["models/my_model.keras", "logs/notes.txt", "logs/checkpoint/extra.weights.h5",
              "evaluation/my_figure.png", "fold_change_analysis/results.tsv", "summary.tsv", "fold_0/notes.txt"]


def test_overwrite_refuses_while_user_files_are_there_and_deletes_nothing(atac, work, bias_run, tmp_path, capsys):
    out = _copy(bias_run, tmp_path / "run")
    for name in USER_FILES:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("the user's own")
    before = _tree(out)
    assert main(_bias_args(atac, work, out) + ["--overwrite"]) == 2
    err = capsys.readouterr().err
    for name in USER_FILES:  # a folder the run never made is named once, as a folder
        top = name.split("/")[0]
        assert (f"{top}/" in err) if top.startswith("fold") else (name in err), name
    assert _tree(out) == before


def test_overwrite_of_a_folder_written_without_manifest_is_refused(atac, work, bias_run, tmp_path, capsys):
    out = _copy(bias_run, tmp_path / "old_version_run")
    (out / "logs" / "manifest.json").unlink()
    before = _tree(out)
    assert main(_bias_args(atac, work, out) + ["--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "has no logs/manifest.json" in err and f"rm -r {out}" in err
    assert _tree(out) == before


def test_overwrite_replaces_the_run_only_when_the_new_one_finished(atac, work, bias_run, tmp_path, capsys):
    out = _copy(bias_run, tmp_path / "run")
    (out / "evaluation" / "stale_from_an_old_version.png").write_bytes(b"png")
    record = json.loads((out / "logs" / "manifest.json").read_text())
    record["files"]["evaluation/stale_from_an_old_version.png"] = {"size": 3, "sha256": manifest.sha256_of(
        out / "evaluation" / "stale_from_an_old_version.png")}
    (out / "logs" / "manifest.json").write_text(json.dumps(record))
    assert main(_bias_args(atac, work, out) + ["--overwrite"]) == 0
    printed = capsys.readouterr().out
    assert ".staging" not in printed and str(out / "models" / "bias.keras") in printed
    assert not (out / "evaluation" / "stale_from_an_old_version.png").exists()  # the old run's file went
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert manifest.read_manifest(out)["complete"] is True
    run_json = (out / "logs" / "run.json").read_text()
    assert ".staging" not in run_json
    # seeded, the replacement equals the original
    assert json.loads((out / "evaluation" / "metrics.json").read_text()) == \
        json.loads((bias_run / "evaluation" / "metrics.json").read_text())


def _run_killed(args, event, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "kill_at.py"), event, "-m", "dream_keras.cli", *args],
                          env=env, capture_output=True, text=True, cwd=cwd, timeout=1800)
    assert done.returncode == -9, done.stdout[-2000:] + done.stderr[-2000:]
    return done


@pytest.mark.slow
def test_kill_9_of_a_replacement_during_training_leaves_the_old_run(atac, work, bias_run, tmp_path, capsys):
    out = _copy(bias_run, tmp_path / "run")
    before = _tree(out)
    _run_killed(_bias_args(atac, work, out) + ["--overwrite"], "before-rename:best.weights.h5")
    assert _tree(out) == before  # untouched
    staging = [p for p in tmp_path.iterdir() if p.name.endswith(".staging")]
    assert len(staging) == 1
    # the next command writing there removes the dead process's staging folder, in one line
    assert main(_bias_args(atac, work, out)) == 2  # (refused: not empty, no --overwrite)
    printed = capsys.readouterr().out
    assert f"removed 1 leftover(s) of interrupted dream-keras processes: {staging[0]}" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"] and _tree(out) == before


@pytest.mark.slow
def test_kill_9_between_the_renames_of_the_swap_is_finished_by_the_next_command(atac, work, bias_run, tmp_path,
                                                                                capsys):
    out = _copy(bias_run, tmp_path / "run")
    (out / "evaluation" / "metrics.json").write_text("{}")  # tell the old run from the new one
    record = manifest.read_manifest(out)
    record["files"]["evaluation/metrics.json"] = {"size": 2, "sha256": manifest.sha256_of(out / "evaluation" /
                                                                                           "metrics.json")}
    (out / "logs" / "manifest.json").write_text(json.dumps(record))
    _run_killed(_bias_args(atac, work, out) + ["--overwrite"], "after-move-aside")
    assert not out.exists()
    assert main(_bias_args(atac, work, out)) == 2  # the next command naming it (refused after: not empty)
    assert "the interrupted --overwrite finished (new run swapped in)" in capsys.readouterr().out
    assert json.loads((out / "evaluation" / "metrics.json").read_text()) != {}
    assert manifest.read_manifest(out)["complete"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.slow
def test_kill_9_of_a_fresh_run_mid_write_then_overwrite(atac, work, tmp_path, capsys):
    out = tmp_path / "fresh"
    _run_killed(_bias_args(atac, work, out), "before-rename:bias.keras")
    leftovers = list((out / "models").glob(".tmp-*bias.keras"))
    assert len(leftovers) == 1 and not (out / "models" / "bias.keras").exists()  # no partial file, final name
    record = manifest.read_manifest(out)
    assert record["complete"] is False and "logs/checkpoint/state.json" in record["files"]
    assert main(_bias_args(atac, work, out) + ["--overwrite"]) == 0  # the killed run's manifest covers it
    assert f"removed 1 leftover(s) of interrupted dream-keras processes: {leftovers[0]}" in capsys.readouterr().out
    assert (out / "models" / "bias.keras").is_file() and manifest.read_manifest(out)["complete"] is True


@pytest.mark.slow  # trains end to end (kept out of the quick subset)
def test_resume_and_config_stop_on_a_changed_input(atac, work, bias_run, tmp_path, capsys):
    peaks = tmp_path / "peaks.narrowPeak"
    shutil.copy(work / "peaks.narrowPeak", peaks)
    out = tmp_path / "run"
    assert main(_bias_args(atac, work, out, peaks=peaks)) == 0
    capsys.readouterr()
    lines = peaks.read_text().splitlines()
    peaks.write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # fewer peaks, as in the report
    assert main(["bias", "train", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"peaks {peaks} changed" in err and "--allow-changed-inputs" in err
    assert main(["bias", "train", "--config", str(out / "logs" / "run.json"), "--out", str(tmp_path / "again")]) == 2
    assert f"peaks {peaks} changed" in capsys.readouterr().err and not (tmp_path / "again").exists()
    first_inputs = json.loads((out / "logs" / "run.json").read_text())["inputs"]
    assert main(["bias", "train", "--out", str(out), "--resume", "--allow-changed-inputs"]) == 0
    record = json.loads((out / "logs" / "run.json").read_text())
    assert record["input_history"][0] == {"from_epoch": 0, "to_epoch": 1, "inputs": first_inputs}
    assert record["input_history"][1]["inputs"]["peaks"]["sha256"] == manifest.sha256_of(peaks)
    assert record["inputs"]["peaks"]["sha256"] == manifest.sha256_of(peaks)


@pytest.mark.slow
def test_predict_killed_between_its_renames_is_completed_together(atac, bias_run, tmp_path, capsys):
    regions = tmp_path / "regions.bed"
    regions.write_text("chr17_seg1\t50000\t50100\nchr17_seg3\t80000\t80100\n")
    prefix = tmp_path / "pred"
    args = ["predict", "--model", str(bias_run / "models" / "bias.keras"), "--genome", str(atac / "genome.fa"),
            "--regions", str(regions), "--out", str(prefix)]
    assert main(args) == 0
    old_bw, old_h5 = (prefix.with_suffix(".bw")).read_bytes(), (prefix.with_suffix(".h5")).read_bytes()
    regions.write_text("chr17_seg2\t10000\t10100\n")  # other regions: other files
    _run_killed(args + ["--overwrite"], "between-paired-renames")
    new_bw = prefix.with_suffix(".bw").read_bytes()
    assert new_bw != old_bw and prefix.with_suffix(".h5").read_bytes() == old_h5  # the mixed state, journalled
    assert main(args) == 2  # refused (files exist), but first the interrupted commit is finished
    assert "(rename finished)" in capsys.readouterr().out
    with h5py.File(prefix.with_suffix(".h5")) as handle:
        assert [c.decode() for c in handle["coords/coords_chrom"][:]] == ["chr17_seg2"]
    with pyBigWig.open(str(prefix.with_suffix(".bw"))) as bigwig:
        assert bigwig.stats("chr17_seg2", 9000, 11000)[0] is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.bw", "pred.h5", "regions.bed"]


# --- corrupted inputs: one message naming the file, no run folder left ----------------------------------


def _refused(args, out, capsys, *needles):
    assert main(args) == 2
    err = capsys.readouterr().err
    for needle in needles:
        assert str(needle) in err, err
    assert not out.exists() or not any(out.iterdir())
    return err


def test_a_fasta_cut_short_with_its_old_index(atac, work, tmp_path, capsys):
    folder = tmp_path / "genome"
    folder.mkdir()
    fasta = folder / "genome.fa"
    data = (atac / "genome.fa").read_bytes()
    fasta.write_bytes(data[: len(data) * 3 // 4])
    shutil.copy(atac / "genome.fa.fai", folder / "genome.fa.fai")  # copied after the FASTA: newer, trusted
    os.utime(folder / "genome.fa.fai", ns=(fasta.stat().st_atime_ns, fasta.stat().st_mtime_ns + 10**9))
    _refused(_bias_args(atac, work, tmp_path / "out", genome=fasta), tmp_path / "out", capsys,
             f"delete {fasta}.fai", f"the FASTA {fasta}")


def test_a_truncated_keras_model(atac, work, bias_run, tmp_path, capsys):
    model = tmp_path / "bias.keras"
    data = (bias_run / "models" / "bias.keras").read_bytes()
    model.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    _refused(["predict", "--model", str(model), "--genome", str(atac / "genome.fa"), "--regions",
              str(atac / "peaks.narrowPeak"), "--out", str(out / "pred")], out, capsys,
             f"{model} is truncated or corrupt")


def test_corrupted_bigwig_peaks_and_fold_files(atac, work, tmp_path, capsys):
    bigwig = tmp_path / "signal.bw"
    bigwig.write_bytes((atac / "tn5_insertions.bw").read_bytes()[:4000])
    out = tmp_path / "out"
    _refused(_bias_args(atac, work, out, bigwig=bigwig), out, capsys, bigwig)
    peaks = tmp_path / "peaks.narrowPeak"
    peaks.write_text("chrom\tstart\tend\tname\tscore\tstrand\tsignal\tp\tq\tpeak\n"
                     + (atac / "peaks.narrowPeak").read_text())
    _refused(_bias_args(atac, work, out, peaks=peaks), out, capsys, peaks, "remove the header line")
    folds = tmp_path / "folds"
    folds.mkdir()
    (folds / "fold_0.json").write_text('{"train": ["chr17_seg1"], "valid": ')
    _refused(_bias_args(atac, work, out, fold_dir=folds), out, capsys, folds / "fold_0.json")


def test_table_fold_all_overwrite_keeps_user_files_in_fold_folders_and_swaps(data_dir, tmp_path):
    from data_prep.errors import InputError
    from dream_keras.tasks.tables.train import train_table_task

    table = data_dir / "lentimpra" / "sample_train.txt"
    options = dict(backbone="mprann", fold="all", folds=[0], epochs=1, verbose=0,
                   model_options={"filters": [8, 8, 8, 4], "dense_units": [16, 8]})
    out = tmp_path / "runs"
    train_table_task("lentimpra", table, out=out, **options)
    assert manifest.read_manifest(out)["complete"] and manifest.read_manifest(out / "fold_0")["complete"]
    notes = out / "fold_0" / "logs" / "notes.txt"
    notes.write_text("mine")
    before = _tree(out)
    with pytest.raises(InputError, match="fold_0/logs/notes.txt"):
        train_table_task("lentimpra", table, out=out, overwrite=True, **options)
    assert _tree(out) == before
    notes.unlink()
    result = train_table_task("lentimpra", table, out=out, overwrite=True, **options)
    assert result.root == out.absolute() and (out / "summary.tsv").is_file()
    assert manifest.read_manifest(out)["complete"] and sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_evaluate_into_a_run_folder_keeps_its_manifest_true(bias_run, tmp_path):
    out = _copy(bias_run, tmp_path / "run")
    assert main(["evaluate", "--run", str(out), "--out", str(out / "evaluation_again")]) == 0
    assert manifest.survey(out).foreign == []  # the new evaluation files are listed: --overwrite may delete them
    record = manifest.read_manifest(out)
    assert record["complete"] is True
    assert record["files"]["evaluation_again/metrics.json"]["sha256"] == \
        manifest.sha256_of(out / "evaluation_again" / "metrics.json")


# --- a full disk or a file-size limit: one message, no file under a final name (issue 27) ---------------


def _limited_command(args, limit: int, cwd=None) -> subprocess.CompletedProcess:
    """``dream-keras ARGS`` in a child process whose files may not grow past ``limit`` bytes (``ulimit -f``)."""
    import resource

    return subprocess.run([sys.executable, "-m", "dream_keras.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3"), timeout=1800,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))


def _one_clear_write_error(done: subprocess.CompletedProcess, under: pathlib.Path) -> pathlib.Path:
    """The command stopped with one clear message about the file it could not write.

    The command stopped with status 2 and one message naming the file it could not write (inside ``under``), the size
    limit and the fix; that file does not exist; no traceback, no crash.
    """
    import re

    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Segmentation" not in done.stderr
    found = re.search(r"error: could not write (\S+): the file reached the file size limit \(ulimit -f\)",
                      done.stderr)
    assert found, done.stderr
    path = pathlib.Path(found.group(1))
    assert path.is_relative_to(under) or path.name.startswith("."), path
    assert "Nothing was written under that name" in done.stderr and "ulimit -f unlimited" in done.stderr
    assert not path.exists()
    return path


@pytest.mark.slow  # five commands, each starting TensorFlow in a child process
def test_every_command_family_says_plainly_when_its_output_does_not_fit(atac, work, bias_run, tmp_path):
    model = bias_run / "models" / "bias.keras"
    regions = tmp_path / "regions.bed"
    regions.write_text("chr17_seg1\t50000\t50100\nchr17_seg3\t80000\t80100\n")
    # prep bigwig: the bigWig writer (libBigWig would abort the process) runs in a child process
    out = tmp_path / "prep" / "signal.bw"
    _one_clear_write_error(_limited_command(["prep", "bigwig", "--genome", str(atac / "genome.fa"), "--fragments",
                                             str(ROOT / "tests" / "data" / "reads" / "atac_mm10_fragments.tsv.gz"),
                                             "--data-type", "ATAC", "--out", str(out)], 48_000), out.parent)
    assert not any(p.name.endswith(".bw") for p in out.parent.iterdir())
    # bias train: whichever file of the run crosses the limit first
    run = tmp_path / "bias"
    failed = _one_clear_write_error(_limited_command(_bias_args(atac, work, run), 24_000), run)
    assert not (run / "models" / "bias.keras").exists() or failed != run / "models" / "bias.keras"
    # predict: the bigWig + HDF5 pair is not committed
    prefix = tmp_path / "pred" / "p"
    _one_clear_write_error(_limited_command(["predict", "--model", str(model), "--genome", str(atac / "genome.fa"),
                                             "--regions", str(atac / "peaks.narrowPeak"), "--out", str(prefix)],
                                            16_000), prefix.parent)
    assert sorted(p.name for p in prefix.parent.iterdir()) == []
    # export: no version folder
    base = tmp_path / "serving"
    _one_clear_write_error(_limited_command(["export", str(model), "--base-dir", str(base), "--name", "bias"],
                                            40_000), base)
    assert not (base / "bias" / "1").exists()
    # interpret: footprints folder
    folder = tmp_path / "footprints"
    _one_clear_write_error(_limited_command(["footprints", "--model", str(model), "--genome", str(atac / "genome.fa"),
                                             "--regions", str(work / "nonpeaks.narrowPeak"), "--motifs", "CTCF",
                                             "--max-regions", "8", "--out", str(folder)], 3_000), folder)


def test_config_with_a_wrong_type_or_an_unknown_key_stops_before_anything_is_made(bias_run, tmp_path, capsys):
    record = json.loads((bias_run / "logs" / "run.json").read_text())
    for change, needle in (({"epochs": "2"}, "parameter 'epochs' is \"2\", but it must be a whole number"),
                           ({"epoch": 2}, "unknown parameter(s) epoch"),
                           ({"lr": [0.1]}, "parameter 'lr' is [0.1], but it must be a number")):
        config = tmp_path / "run.json"
        config.write_text(json.dumps({**record, "parameters": {**record["parameters"], **change}}))
        out = tmp_path / "again"
        assert main(["bias", "train", "--config", str(config), "--out", str(out)]) == 2
        assert needle in capsys.readouterr().err
        assert not out.exists()


def test_resume_of_a_finished_run_with_another_input_file_stops(atac, work, bias_run, tmp_path, capsys):
    out = _copy(bias_run, tmp_path / "run")
    other = tmp_path / "peaks.narrowPeak"
    lines = (work / "peaks.narrowPeak").read_text().splitlines()
    other.write_text("\n".join(lines[:-5]) + "\n")
    before = _tree(out)
    assert main(["bias", "train", "--out", str(out), "--resume", "--peaks", str(other)]) == 2
    error = capsys.readouterr().err
    assert f"peaks {other} is not the file the run read" in error and "--allow-changed-inputs" in error
    assert _tree(out) == before


def test_a_second_command_on_the_same_run_folder_stops_naming_the_first(atac, work, bias_run, tmp_path, capsys):
    out = _copy(bias_run, tmp_path / "run")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom data_prep.outputs import open_output\n"
                               "with open_output(sys.argv[1], resume=True):\n    print('holding', flush=True)\n"
                               "    time.sleep(600)", str(out)],
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        before = _tree(out)
        assert main(_bias_args(atac, work, out) + ["--overwrite"]) == 2
        error = capsys.readouterr().err
        assert f"{out} is being written by another dream-keras command: process {holder.pid}" in error
        assert _tree(out) == before
    finally:
        holder.kill()
        holder.wait()


def test_an_out_below_a_regular_file_is_refused_before_training(atac, work, tmp_path, capsys):
    (tmp_path / "results").write_text("a file")
    assert main(_bias_args(atac, work, tmp_path / "results" / "bias")) == 2
    assert "results is a file, not a folder" in capsys.readouterr().err
