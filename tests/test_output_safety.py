"""Nothing a user owns is lost: manifests, --overwrite's staging swap, stale temporaries, paired outputs,
recorded inputs, FASTA index, duplicate IDs, header lines (issue 18). No TensorFlow here: the run
folders are written with the real manifest machinery and plain files; ``test_cli_safety.py`` runs
the commands.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import data_prep
from data_prep.atomic import write_text_atomic
from data_prep.errors import InputError
from data_prep.genome import open_genome
from data_prep.stale_temporaries import remove_stale_temporaries
from dream_keras.training import manifest
from dream_keras.training.input_history import carry_input_history, changed_inputs, check_recorded_inputs
from dream_keras.training.run_folder import RunFolder
from dream_keras.training.staging import recover_swaps, staged_output

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _fake_run(root: pathlib.Path, *, folds=(), overwrite=False) -> pathlib.Path:
    """A finished run folder written through RunFolder/atomic writes (as a training run writes it)."""
    with staged_output(root, overwrite=overwrite) as target:
        run = RunFolder.prepare(target, overwrite=overwrite, subfolders=("logs",) if folds else
                                ("models", "logs", "evaluation"))
        write_text_atomic(run.logs / "run.json", json.dumps({"parameters": {}, "inputs": {}}))
        if folds:
            for fold in folds:
                inner = RunFolder.prepare(target / f"fold_{fold}")
                write_text_atomic(inner.models / "model.keras", f"model of fold {fold}")
                write_text_atomic(inner.checkpoints / "state.json", "{}")
            write_text_atomic(target / "summary.tsv", "subset\tmean\n")
        else:
            write_text_atomic(run.models / "model.keras", "weights")
            write_text_atomic(run.checkpoints / "state.json", "{}")
            write_text_atomic(run.evaluation / "metrics.json", "{}")
            # a file written without atomic_path (Keras's CSV logger) is listed by the final scan
            (run.logs / "training_log.csv").write_text("epoch,loss\n0,1.0\n")
    return root


def _tree(root: pathlib.Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the manifest ----------------------------------------------------------------------------------------


def test_manifest_lists_every_file_with_size_and_sha256(tmp_path):
    root = _fake_run(tmp_path / "run")
    record = manifest.read_manifest(root)
    assert record["complete"] is True
    assert set(record["files"]) == {"logs/run.json", "models/model.keras", "logs/checkpoint/state.json",
                                    "evaluation/metrics.json", "logs/training_log.csv"}
    listed = record["files"]["models/model.keras"]
    assert listed["size"] == len("weights")
    assert listed["sha256"] == manifest.sha256_of(root / "models" / "model.keras")
    assert {"models", "logs", "logs/checkpoint", "evaluation"} <= set(record["folders"])


USER_FILES = ["models/my_model.keras", "logs/notes.txt", "logs/checkpoint/mine.weights.h5", "evaluation/figure.png",
              "fold_change_analysis/table.tsv", "summary.tsv", "summary.json", "fold_7", "models/sub/x.txt"]


@pytest.mark.parametrize("user_file", USER_FILES)
def test_overwrite_refuses_and_keeps_a_user_file_in_every_known_place(tmp_path, user_file):
    root = _fake_run(tmp_path / "run")
    path = root / user_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("the user's own")
    with pytest.raises(InputError, match="did not write") as error:
        RunFolder.check(root, overwrite=True)
    assert user_file.split("/")[0] in str(error.value)
    remaining = manifest.delete_owned(root)
    assert path.read_text() == "the user's own"
    assert any(user_file.startswith(r.rstrip("/")) or r.startswith(user_file) for r in remaining)
    assert not (root / "models" / "model.keras").exists()  # the run's own files went


@pytest.mark.parametrize("user_file", ["fold_0/models/mine.keras", "fold_1/logs/notes.txt", "fold_2/x",
                                       "logs/notes.txt", "summary.tsv.bak"])
def test_fold_all_parent_refuses_user_files_inside_the_fold_folders(tmp_path, user_file):
    root = _fake_run(tmp_path / "folds", folds=(0, 1))
    manifest.check_replaceable(root)  # as written: all the tool's
    path = root / user_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("mine")
    with pytest.raises(InputError, match="did not write"):
        manifest.check_replaceable(root)
    manifest.delete_owned(root)
    assert path.read_text() == "mine"
    assert not (root / "fold_0" / "models" / "model.keras").exists()


def test_a_user_edit_of_a_file_the_run_wrote_refuses_overwrite(tmp_path):
    root = _fake_run(tmp_path / "run")
    (root / "evaluation" / "metrics.json").write_text("{ } ")  # same size would still differ by SHA-256
    with pytest.raises(InputError, match=r"evaluation/metrics.json \(changed since dream-keras wrote it\)"):
        manifest.check_replaceable(root)


def test_a_folder_without_manifest_is_refused_with_what_to_do(tmp_path):
    old = tmp_path / "old_run"
    for name in ("models/model.keras", "logs/run.json", "evaluation/metrics.json"):
        (old / name).parent.mkdir(parents=True, exist_ok=True)
        (old / name).write_text("x")
    before = _tree(old)
    with pytest.raises(InputError, match="has no logs/manifest.json") as error:
        RunFolder.check(old, overwrite=True)
    assert f"rm -r {old}" in str(error.value)
    assert _tree(old) == before


def test_resume_records_files_found_in_the_folder_as_not_the_tools(tmp_path):
    root = tmp_path / "run"
    run = RunFolder.prepare(root)
    write_text_atomic(run.logs / "run.json", "{}")
    write_text_atomic(run.models / "model.keras", "w")
    manifest.stop_recordings(root)  # as a killed process would leave it
    (run.logs / "notes.txt").write_text("mine")
    RunFolder.prepare(root, resume=True)
    write_text_atomic(run.evaluation / "metrics.json", "{}")
    manifest.finish_recordings(root)
    record = manifest.read_manifest(root)
    assert record["not_written_by_dream_keras"] == ["logs/notes.txt"]
    assert "logs/notes.txt" not in record["files"] and "evaluation/metrics.json" in record["files"]


# --- the staging swap ----------------------------------------------------------------------------------


def test_overwrite_swaps_in_the_finished_run_and_deletes_only_the_old_runs_files(tmp_path):
    root = _fake_run(tmp_path / "run")
    with staged_output(root, overwrite=True) as target:
        assert target != root and target.parent == root.parent and target.name.startswith(".tmp-")
        assert (root / "models" / "model.keras").read_text() == "weights"  # the old run is intact meanwhile
        run = RunFolder.prepare(target, overwrite=True)
        write_text_atomic(run.models / "model.keras", "new weights")
    assert (root / "models" / "model.keras").read_text() == "new weights"
    assert not (root / "evaluation" / "metrics.json").exists()  # the old run's file, not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging or replaced folder left
    assert manifest.read_manifest(root)["complete"] is True


def test_a_failed_replacement_leaves_the_old_run_as_it_was(tmp_path):
    root = _fake_run(tmp_path / "run")
    before = _tree(root)
    with pytest.raises(RuntimeError, match="training failed"):
        with staged_output(root, overwrite=True) as target:
            run = RunFolder.prepare(target, overwrite=True)
            write_text_atomic(run.models / "model.keras", "half")
            raise RuntimeError("training failed")
    assert _tree(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_user_file_added_during_the_replacement_keeps_both_runs(tmp_path):
    root = _fake_run(tmp_path / "run")
    with pytest.raises(InputError, match="The new run is kept in"):
        with staged_output(root, overwrite=True) as target:
            run = RunFolder.prepare(target, overwrite=True)
            write_text_atomic(run.models / "model.keras", "new")
            (root / "logs" / "notes.txt").write_text("written while the run trained")
    assert (root / "logs" / "notes.txt").exists() and (root / "models" / "model.keras").read_text() == "weights"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("run.new-")]
    assert len(kept) == 1 and (kept[0] / "models" / "model.keras").read_text() == "new"


SWAP_SCRIPT = textwrap.dedent("""
    import sys
    from data_prep.atomic import write_text_atomic
    from dream_keras.training.run_folder import RunFolder
    from dream_keras.training.staging import staged_output
    with staged_output(sys.argv[1], overwrite=True) as target:
        run = RunFolder.prepare(target, overwrite=True)
        write_text_atomic(run.models / "model.keras", "new weights")
        write_text_atomic(run.evaluation / "metrics.json", "new metrics")
""")


def _killed_at(event: str, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, DREAM_KERAS_KILL_AT=event, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SWAP_SCRIPT, *args], env=env, capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    return done


@pytest.mark.parametrize("event, expected", [
    ("after-rename:model.keras", "old"),          # killed while the replacement was being written
    ("after-move-aside", "new"),                  # killed between the two renames of the swap
    ("after-swap", "new"),                        # killed before the old run's files were deleted
])
def test_kill_9_during_a_replacement(tmp_path, capsys, event, expected):
    root = _fake_run(tmp_path / "run")
    (tmp_path / "mine.txt").write_text("a user's file beside the run")
    before = _tree(root)
    _killed_at(event, str(root))
    if expected == "old":
        assert _tree(root) == before  # untouched, even before any recovery
    recover_swaps(tmp_path)
    remove_stale_temporaries(tmp_path, depth=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "run"]
    if expected == "old":
        assert _tree(root) == before
    else:
        assert (root / "models" / "model.keras").read_text() == "new weights"
        assert manifest.read_manifest(root)["complete"] is True
        manifest.check_replaceable(root)


# --- stale temporaries -----------------------------------------------------------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_only_temporaries_of_dead_processes_are_removed(tmp_path, capsys):
    dead, live = _dead_pid(), os.getppid()
    (tmp_path / "models").mkdir()
    stale = [tmp_path / "models" / f".tmp-{dead}-0123abcd-model.keras",
             tmp_path / f".tmp-{dead}-0123abcd-pred.bw", tmp_path / f".tmp-{dead}-0123abcd-export-3"]
    stale[0].write_bytes(b"PK half")
    stale[1].write_bytes(b"half")
    stale[2].mkdir()
    kept = [tmp_path / f".tmp-{live}-0123abcd-model.keras",  # a live process may still write it
            tmp_path / ".tmp-notes.txt",  # not a dream-keras name
            tmp_path / f".tmp-{dead}-0123abcd-run.replaced"]  # the recovery of swaps handles it
    for path in kept:
        path.write_text("keep")
    removed = remove_stale_temporaries(tmp_path, depth=1)
    assert sorted(removed) == sorted(map(str, stale))
    assert all(not p.exists() for p in stale) and all(p.exists() for p in kept)
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("removed 3 leftover(s) of interrupted dream-keras processes")


PAIR_SCRIPT = textwrap.dedent("""
    import sys
    from data_prep.paired_outputs import paired_paths
    with paired_paths([sys.argv[1], sys.argv[2]]) as (bw, h5):
        bw.write_text("new bigwig")
        h5.write_text("new hdf5")
""")


@pytest.mark.parametrize("event, after_kill", [("after-journal", ("old", "old")),
                                               ("between-paired-renames", ("new", "old"))])
def test_paired_outputs_are_both_old_or_both_new(tmp_path, event, after_kill):
    bw, h5 = tmp_path / "pred.bw", tmp_path / "pred.h5"
    bw.write_text("old bigwig")
    h5.write_text("old hdf5")
    env = dict(os.environ, DREAM_KERAS_KILL_AT=event, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", PAIR_SCRIPT, str(bw), str(h5)], env=env, capture_output=True)
    assert done.returncode == -9
    assert (bw.read_text().split()[0], h5.read_text().split()[0]) == after_kill
    assert any(p.name.endswith(".journal") for p in tmp_path.iterdir())  # the commit point was passed
    remove_stale_temporaries(tmp_path)
    assert (bw.read_text(), h5.read_text()) == ("new bigwig", "new hdf5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.bw", "pred.h5"]


def test_paired_outputs_failing_before_the_commit_keep_both_old(tmp_path):
    from data_prep.paired_outputs import paired_paths

    bw, h5 = tmp_path / "pred.bw", tmp_path / "pred.h5"
    bw.write_text("old bigwig")
    h5.write_text("old hdf5")
    with pytest.raises(OSError):
        with paired_paths([bw, h5]) as (new_bw, new_h5):
            new_bw.write_text("new bigwig")
            raise OSError("disk full")
    assert (bw.read_text(), h5.read_text()) == ("old bigwig", "old hdf5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.bw", "pred.h5"]


# --- recorded inputs -------------------------------------------------------------------------------------


def test_changed_inputs_are_named_and_refused(tmp_path):
    peaks = tmp_path / "peaks.narrowPeak"
    peaks.write_text("chr1\t10\t20\n")
    genome = tmp_path / "genome.fa"
    genome.write_text(">chr1\nACGT\n")
    recorded = manifest.hash_inputs_timed({"peaks": peaks, "genome": genome})
    assert changed_inputs(recorded) == []
    peaks.write_text("chr1\t10\t21\n")  # same size, other bytes
    genome.write_text(">chr1\nACGTA\n")
    lines = changed_inputs(recorded)
    assert lines == [f"peaks {peaks} changed: same size, different SHA-256",
                     f"genome {genome} changed: {len('>chr1 ACGT ')} bytes recorded, {len('>chr1 ACGTA ')} now"]
    with pytest.raises(InputError, match=r"peaks .* changed.*--allow-changed-inputs"):
        check_recorded_inputs({"inputs": recorded}, "run.json")
    assert changed_inputs(recorded, skip={"peaks", "genome"}) == []
    assert len(check_recorded_inputs({"inputs": recorded}, "run.json", allow=True, say=lambda _: None)) == 2


def test_a_resume_on_changed_inputs_keeps_what_the_first_epochs_read(tmp_path):
    run = RunFolder.prepare(tmp_path / "run")
    first = {"peaks": {"path": "/p", "size": 45, "sha256": "a"}}
    write_text_atomic(run.logs / "run.json", json.dumps({"created": "t0", "inputs": first, "parameters": {}}))
    write_text_atomic(run.checkpoints / "state.json", json.dumps({"epoch": 2}))
    second = {"peaks": {"path": "/p", "size": 22, "sha256": "b"}}
    record = carry_input_history(run, {"created": "t1", "inputs": second, "parameters": {}})
    assert record["created"] == "t0" and record["resumed"] == ["t1"]
    assert record["input_history"] == [{"from_epoch": 0, "to_epoch": 3, "inputs": first},
                                       {"from_epoch": 3, "to_epoch": None, "inputs": second}]
    write_text_atomic(run.logs / "run.json", json.dumps(record))
    write_text_atomic(run.checkpoints / "state.json", json.dumps({"epoch": 4}))
    third = {"peaks": {"path": "/p", "size": 30, "sha256": "c"}}
    record = carry_input_history(run, {"created": "t2", "inputs": third, "parameters": {}})
    assert [(h["from_epoch"], h["to_epoch"], h["inputs"]) for h in record["input_history"]] == \
        [(0, 3, first), (3, 5, second), (5, None, third)]
    on_disk = json.loads((run.logs / "run.json").read_text())  # the record after the first resume
    same = carry_input_history(run, {"created": "t3", "inputs": second, "parameters": {}})
    assert same["input_history"] == on_disk["input_history"]  # unchanged inputs: the history as it was
    fresh = RunFolder.prepare(tmp_path / "fresh")
    assert "input_history" not in carry_input_history(fresh, {"created": "t", "inputs": first, "parameters": {}})


# --- FASTA index -----------------------------------------------------------------------------------------


def _genome_copy(data_dir, folder: pathlib.Path) -> pathlib.Path:
    folder.mkdir()
    fasta = folder / "genome.fa"
    fasta.write_bytes((data_dir / "atac_mm10" / "genome.fa").read_bytes())
    (folder / "genome.fa.fai").write_bytes((data_dir / "atac_mm10" / "genome.fa.fai").read_bytes())
    return fasta


def _make_index_newer(fasta):
    stat = fasta.stat()
    os.utime(str(fasta) + ".fai", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # pyfaidx trusts it


def test_a_fasta_cut_short_with_its_old_index_is_refused_naming_both(data_dir, tmp_path):
    fasta = _genome_copy(data_dir, tmp_path / "cut")
    data = fasta.read_bytes()
    fasta.write_bytes(data[: len(data) - 50_000])
    _make_index_newer(fasta)
    with pytest.raises(InputError) as error:
        open_genome(fasta)
    message = str(error.value)
    assert f"{fasta}.fai" in message and str(fasta) in message and f"delete {fasta}.fai" in message
    assert "ends at byte" in message


def test_a_fasta_grown_after_its_index_or_a_garbled_index_is_refused(data_dir, tmp_path):
    fasta = _genome_copy(data_dir, tmp_path / "grown")
    with open(fasta, "a") as handle:
        handle.write(">chr_extra\nACGTACGT\n")
    _make_index_newer(fasta)
    with pytest.raises(InputError, match="more bytes after the last indexed sequence"):
        open_genome(fasta)
    garbled = _genome_copy(data_dir, tmp_path / "garbled")
    with open(str(garbled) + ".fai", "a") as handle:
        handle.write("chrX\tnot-a-number\n")
    _make_index_newer(garbled)
    with pytest.raises(InputError):
        open_genome(garbled)


def test_the_real_index_and_a_rebuilt_one_pass(data_dir, tmp_path):
    genome = open_genome(data_dir / "atac_mm10" / "genome.fa")
    assert len(genome["chr17_seg1"]) == 200_000
    genome.close()
    fasta = _genome_copy(data_dir, tmp_path / "stale_but_older")
    data = fasta.read_bytes()
    fasta.write_bytes(data[: len(data) - 50_000])
    os.utime(str(fasta) + ".fai", ns=(0, 0))  # older than the FASTA: pyfaidx rebuilds it
    genome = open_genome(fasta)
    assert sum(len(genome[name]) for name in genome.keys()) < 1_000_000
    genome.close()


# --- sequence tables and region files ----------------------------------------------------------------


@pytest.mark.parametrize("same_sequence", [False, True])
def test_duplicate_ids_in_sequence_tables_are_refused_with_the_lines(data_dir, tmp_path, same_sequence):
    from data_prep.tables.lentimpra import load_lentimpra

    lines = (data_dir / "lentimpra" / "sample_train.txt").read_text().splitlines()
    header, first, second = lines[0], lines[1].split("\t"), lines[2].split("\t")
    second[0] = first[0]
    if same_sequence:
        second[1] = first[1]
    table = tmp_path / "dup.tsv"
    table.write_text("\n".join([header, "\t".join(first), *lines[3:10], "\t".join(second)]) + "\n")
    with pytest.raises(InputError) as error:
        load_lentimpra(table)
    message = str(error.value)
    assert f"{first[0]!r} appears on lines 2, 10" in message and str(table) in message
    assert ("same sequence" if same_sequence else "different sequences") in message
    assert "give each row its own seq_id" in message


def test_a_peaks_file_with_a_header_line_says_remove_the_header_line(data_dir, tmp_path):
    peaks = tmp_path / "peaks.narrowPeak"
    peaks.write_text("chrom\tstart\tend\tname\tscore\tstrand\tsignal\tp\tq\tsummit\n"
                     + (data_dir / "atac_mm10" / "peaks.narrowPeak").read_text())
    with pytest.raises(InputError, match=f"{peaks}, line 1: .*remove the header line"):
        data_prep.read_narrowpeak(peaks)
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\tstart\t100\n")
    with pytest.raises(InputError, match="remove the header line"):
        data_prep.read_bed(bed)
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t1e5\t100\n")
    with pytest.raises(InputError) as error:
        data_prep.read_bed(bad)
    assert "header" not in str(error.value)  # a number written wrongly is not called a header


def test_commands_clean_where_they_write_and_only_there(tmp_path, capsys):
    import argparse

    from dream_keras.cli.output_cleanup import clean_output_folders

    dead = _dead_pid()
    export_dir = tmp_path / "serving" / "model"
    export_dir.mkdir(parents=True)
    (export_dir / f".tmp-{dead}-89abcdef-export-3").mkdir()  # a killed export's staging folder
    run = _fake_run(tmp_path / "run")
    (run / "logs" / "checkpoint" / f".tmp-{dead}-89abcdef-last.weights.h5").write_bytes(b"half")
    plain = tmp_path / "my_folder" / "deep"
    plain.mkdir(parents=True)
    (plain / f".tmp-{dead}-89abcdef-x").write_text("not under a dream-keras output folder")
    clean_output_folders(argparse.Namespace(base_dir=str(tmp_path / "serving"), name="model", out=None))
    assert not any(export_dir.iterdir())
    clean_output_folders(argparse.Namespace(out=str(run)))
    assert not any(p.name.startswith(".tmp-") for p in run.rglob("*"))
    clean_output_folders(argparse.Namespace(out=str(tmp_path / "my_folder")))
    assert (plain / f".tmp-{dead}-89abcdef-x").exists()  # only manifest-holding folders are searched deeply
    assert len([line for line in capsys.readouterr().out.splitlines() if line.startswith("removed")]) == 2
