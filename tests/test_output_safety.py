"""Nothing a user owns is lost: the output room (data_prep.outputs).

Manifests, containment of every deletion, locks, --overwrite's staging swap, stale temporaries, paired outputs, failed
writes, recorded inputs; also FASTA index, duplicate IDs, header lines (issues 18 and 27). No TensorFlow here: the run
folders are written with the real machinery and plain files; ``test_cli_safety.py`` runs the commands.
"""

import io
import json
import os
import pathlib
import resource
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest

import data_prep
from data_prep.errors import InputError
from data_prep.genome import open_genome
from data_prep.outputs import OutputWriteError, RunFolder, atomic_path, manifest, open_output, write_text_atomic
from data_prep.outputs.containment import OutsideFolder
from data_prep.outputs.lock import OutputInUse, lock_path
from data_prep.outputs.recorded_inputs import carry_input_history, changed_inputs, check_recorded_inputs, fingerprints
from data_prep.outputs.swap import recover_swaps
from data_prep.outputs.temporaries import remove_stale_temporaries

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILL_AT = pathlib.Path(__file__).with_name("kill_at.py")


def _zip_bytes(text: str) -> bytes:
    """A small whole zip archive (what a .keras file is), holding ``text``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps({"text": text}))
    return buffer.getvalue()


def write_keras(path: pathlib.Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(_zip_bytes(text))


def keras_text(path: pathlib.Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))["text"]


def _fake_run(root: pathlib.Path, *, folds=(), overwrite=False) -> pathlib.Path:
    """A finished run folder written through open_output/RunFolder/atomic writes (as a training run writes it)."""
    with open_output(root, overwrite=overwrite) as output:
        run = RunFolder.create(output.path, subfolders=("logs",) if folds else ("models", "logs", "evaluation"))
        write_text_atomic(run.logs / "run.json", json.dumps({"parameters": {}, "inputs": {}}))
        if folds:
            for fold in folds:
                inner = RunFolder.create(output.path / f"fold_{fold}")
                write_keras(inner.models / "model.keras", f"model of fold {fold}")
                write_text_atomic(inner.checkpoints / "state.json", "{}")
            write_text_atomic(output.path / "summary.tsv", "subset\tmean\n")
        else:
            write_keras(run.models / "model.keras", "weights")
            write_text_atomic(run.checkpoints / "state.json", "{}")
            write_text_atomic(run.evaluation / "metrics.json", "{}")
            # a file written in place (Keras's CSV logger) is listed by the final scan
            (run.logs / "training_log.csv").write_text("epoch,loss\n0,1.0\n")
    return root


def _tree(root: pathlib.Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _rewrite_manifest(root: pathlib.Path, change) -> None:
    record = manifest.read_manifest(root)
    change(record)
    (root / "logs" / "manifest.json").write_text(json.dumps(record))


# --- the manifest ----------------------------------------------------------------------------------------


def test_manifest_lists_every_file_with_size_and_sha256(tmp_path):
    root = _fake_run(tmp_path / "run")
    record = manifest.read_manifest(root)
    assert record["complete"] is True
    assert set(record["files"]) == {"logs/run.json", "models/model.keras", "logs/checkpoint/state.json",
                                    "evaluation/metrics.json", "logs/training_log.csv"}
    listed = record["files"]["models/model.keras"]
    assert listed["size"] == len(_zip_bytes("weights"))
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
        with open_output(root, overwrite=True):
            pass
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
        with open_output(old, overwrite=True):
            pass
    assert f"rm -r {old}" in str(error.value)
    assert _tree(old) == before


def test_resume_records_files_found_in_the_folder_as_not_the_tools(tmp_path):
    root = tmp_path / "run"
    run = RunFolder.create(root)
    write_text_atomic(run.logs / "run.json", "{}")
    write_keras(run.models / "model.keras", "w")
    manifest.stop_recordings(root)  # as a killed process would leave it
    (run.logs / "notes.txt").write_text("mine")
    with open_output(root, resume=True) as output:
        RunFolder.create(output.path, resume=output.resumed)
        write_text_atomic(run.evaluation / "metrics.json", "{}")
    record = manifest.read_manifest(root)
    assert record["not_written_by_dream_keras"] == ["logs/notes.txt"]
    assert "logs/notes.txt" not in record["files"] and "evaluation/metrics.json" in record["files"]


# --- every deletion stays inside the folder (issue 27) ----------------------------------------------------


@pytest.mark.parametrize("entry", ["../precious.txt", "{outside}/precious.txt", "models/../../precious.txt",
                                   "models/./x", "", "a//b"])
def test_a_manifest_entry_outside_the_folder_refuses_overwrite_and_the_file_survives(tmp_path, entry):
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's thesis")
    root = _fake_run(tmp_path / "run")
    entry = entry.format(outside=tmp_path)
    _rewrite_manifest(root, lambda record: record["files"].update({entry: {"size": 17, "sha256": "x"}}))
    before = _tree(root)
    with pytest.raises(OutsideFolder, match="not a plain path inside the folder") as error:
        with open_output(root, overwrite=True):
            pass
    assert repr(entry) in str(error.value)
    with pytest.raises(OutsideFolder):
        manifest.delete_owned(root)
    assert precious.read_text() == "the user's thesis" and _tree(root) == before


def test_a_symbolic_link_in_the_folder_is_never_followed_out_of_it(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "model.keras").write_text("another project's model")
    root = _fake_run(tmp_path / "run")
    (root / "models" / "model.keras").unlink()
    (root / "models").rmdir()
    (root / "models").symlink_to(elsewhere, target_is_directory=True)  # models/ now leads out
    with pytest.raises(OutsideFolder, match="leads out of the folder"):
        manifest.delete_owned(root)
    assert (elsewhere / "model.keras").read_text() == "another project's model"
    # a link in place of a listed file is the user's: refused, and never followed
    root2 = _fake_run(tmp_path / "run2")
    (root2 / "evaluation" / "metrics.json").unlink()
    (root2 / "evaluation" / "metrics.json").symlink_to(elsewhere / "model.keras")
    with pytest.raises(InputError, match="replaced by a link"):
        manifest.check_replaceable(root2)
    assert (elsewhere / "model.keras").read_text() == "another project's model"


def test_a_copy_of_another_run_inside_the_folder_is_the_users(tmp_path):
    old = _fake_run(tmp_path / "old")
    root = _fake_run(tmp_path / "this")
    import shutil

    shutil.copytree(old, root / "backup")  # cp -r runs/old runs/this/backup: its own manifest inside
    with pytest.raises(InputError, match="backup/"):
        with open_output(root, overwrite=True):
            pass
    assert _tree(root / "backup") == _tree(old)
    manifest.delete_owned(root)
    assert _tree(root / "backup") == _tree(old)  # only this run's own files went


def test_the_recovery_of_an_interrupted_swap_keeps_to_the_same_rule(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    old = _fake_run(tmp_path / "old")
    _fake_run(tmp_path / "run")  # the new run was swapped in before the kill
    _rewrite_manifest(old, lambda record: record["files"].update({"../precious.txt": {"size": 4, "sha256": "x"}}))
    old.rename(tmp_path / f".tmp-{_dead_pid()}-0123abcd-run.replaced")
    with pytest.raises(OutsideFolder):
        recover_swaps(tmp_path)
    assert precious.read_text() == "keep"


# --- one command at a time per output --------------------------------------------------------------------


def test_a_second_command_on_the_same_output_stops_at_once_naming_the_holder(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from data_prep.outputs import open_output
        with open_output(sys.argv[1]) as output:
            print("holding", flush=True)
            time.sleep(600)
    """), str(out)], env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        for kind, target in (("folder", out), ("folder", out)):
            with pytest.raises(OutputInUse, match=f"process {holder.pid}"):
                with open_output(target, overwrite=True, kind=kind):
                    pass
    finally:
        holder.kill()
        holder.wait()
    assert lock_path(out).exists()  # the killed holder's lock file stays, holding no lock
    with open_output(out) as output:  # taken over at once: no stale lock
        output.make()
    assert not lock_path(out).exists()


def test_a_file_output_is_locked_too(tmp_path):
    target = tmp_path / "pred.bw"
    with open_output([target, tmp_path / "pred.h5"], kind="files"):
        done = subprocess.run([sys.executable, "-c", "import sys; from data_prep.outputs import open_output\n"
                               "with open_output(sys.argv[1], kind='files', overwrite=True): pass", str(target)],
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
        assert done.returncode != 0 and f"process {os.getpid()}" in done.stderr


# --- the staging swap ----------------------------------------------------------------------------------


def test_overwrite_swaps_in_the_finished_run_and_deletes_only_the_old_runs_files(tmp_path):
    root = _fake_run(tmp_path / "run")
    with open_output(root, overwrite=True) as output:
        target = output.path
        assert target != root and target.parent == root.parent and target.name.startswith(".tmp-")
        assert keras_text(root / "models" / "model.keras") == "weights"  # the old run is intact meanwhile
        run = RunFolder.create(target)
        write_keras(run.models / "model.keras", "new weights")
    assert keras_text(root / "models" / "model.keras") == "new weights"
    assert not (root / "evaluation" / "metrics.json").exists()  # the old run's file, not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging, replaced folder or lock left
    assert manifest.read_manifest(root)["complete"] is True


def test_a_failed_replacement_leaves_the_old_run_as_it_was(tmp_path):
    root = _fake_run(tmp_path / "run")
    before = _tree(root)
    with pytest.raises(RuntimeError, match="training failed"):
        with open_output(root, overwrite=True) as output:
            run = RunFolder.create(output.path)
            write_keras(run.models / "model.keras", "half")
            raise RuntimeError("training failed")
    assert _tree(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_user_file_added_during_the_replacement_keeps_both_runs(tmp_path):
    root = _fake_run(tmp_path / "run")
    with pytest.raises(InputError, match="The new run is kept in"):
        with open_output(root, overwrite=True) as output:
            run = RunFolder.create(output.path)
            write_keras(run.models / "model.keras", "new")
            (root / "logs" / "notes.txt").write_text("written while the run trained")
    assert (root / "logs" / "notes.txt").exists() and keras_text(root / "models" / "model.keras") == "weights"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("run.new-")]
    assert len(kept) == 1 and keras_text(kept[0] / "models" / "model.keras") == "new"


SWAP_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from test_output_safety import write_keras
    from data_prep.outputs import RunFolder, open_output, write_text_atomic
    with open_output(sys.argv[1], overwrite=True) as output:
        run = RunFolder.create(output.path)
        write_keras(run.models / "model.keras", "new weights")
        write_text_atomic(run.evaluation / "metrics.json", "{}")
""")


def _killed_at(event: str, code: str, *args) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(KILL_AT), event, "-c", code, *args],
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
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
    _killed_at(event, SWAP_SCRIPT, str(root), str(pathlib.Path(__file__).parent))
    if expected == "old":
        assert _tree(root) == before  # untouched, even before any recovery
    with open_output(root, resume=True):  # the next command naming it recovers and cleans
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "run"]
    if expected == "old":
        assert _tree(root) == before
    else:
        assert keras_text(root / "models" / "model.keras") == "new weights"
        assert manifest.read_manifest(root)["complete"] is True
        manifest.check_replaceable(root)


def test_a_killed_run_leaves_nothing_the_next_overwrite_calls_foreign(tmp_path):
    """Files a killed run left behind are still the tool's.

    Files a killed run wrote in place after its last manifest update (the CSV log), and a file killed right after its
    rename, are still the tool's.
    """
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[2])
        from test_output_safety import write_keras
        from data_prep.outputs import RunFolder, open_output, write_text_atomic
        from data_prep.outputs import manifest
        with open_output(sys.argv[1]) as output:
            run = RunFolder.create(output.path)
            log = run.logs / "training_log.csv"
            manifest.expect(log)
            log.write_text("epoch,loss\\n")
            write_text_atomic(run.checkpoints / "state.json", "{}")
            with open(log, "a") as handle:
                handle.write("1,0.5\\n")  # appended after the last manifest update
            write_keras(run.models / "model.keras", "w")  # killed just after this rename
    """)
    root = tmp_path / "run"
    _killed_at("after-rename:model.keras", code, str(root), str(pathlib.Path(__file__).parent))
    record = manifest.read_manifest(root)
    assert record["complete"] is False and record["files"]["models/model.keras"]["size"] is None  # listed ahead
    found = manifest.check_replaceable(root)
    assert root / "logs" / "training_log.csv" in found.owned_files
    assert root / "models" / "model.keras" in found.owned_files
    with open_output(root, overwrite=True) as output:
        RunFolder.create(output.path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# --- stale temporaries -----------------------------------------------------------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_only_temporaries_of_dead_processes_are_removed(tmp_path, capsys):
    dead, live = _dead_pid(), os.getppid()
    (tmp_path / "models").mkdir()
    stale = [tmp_path / "models" / f".tmp-{dead}-0123abcd-model.keras",
             tmp_path / f".tmp-{dead}-0123abcd-pred.bw", tmp_path / f".tmp-{dead}-0123abcd-export-3",
             tmp_path / f".tmp-{dead}-0123abcd-pred.bw.spill"]
    stale[0].write_bytes(b"PK half")
    stale[1].write_bytes(b"half")
    stale[2].mkdir()
    stale[3].mkdir()
    (stale[3] / "0.npy").write_bytes(b"spilled counts of a killed prep bigwig")
    kept = [tmp_path / f".tmp-{live}-0123abcd-model.keras",  # a live process may still write it
            tmp_path / ".tmp-notes.txt",  # not a dream-keras name
            tmp_path / f".tmp-{dead}-0123abcd-run.replaced"]  # the recovery of swaps handles it
    for path in kept:
        path.write_text("keep")
    removed = remove_stale_temporaries(tmp_path, depth=1)
    assert sorted(removed) == sorted(map(str, stale))
    assert all(not p.exists() for p in stale) and all(p.exists() for p in kept)
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("removed 4 leftover(s) of interrupted dream-keras processes")


PAIR_SCRIPT = textwrap.dedent("""
    import sys
    from data_prep.outputs import paired_paths
    with paired_paths([sys.argv[1], sys.argv[2]]) as (bw, h5):
        bw.write_text("new bigwig")
        h5.write_text("new hdf5")
""")


@pytest.mark.parametrize("event, after_kill", [("after-journal", ("old", "old")),
                                               ("between-paired-renames", ("new", "old"))])
def test_paired_outputs_are_both_old_or_both_new(tmp_path, event, after_kill):
    bw, h5 = tmp_path / "pred.signal", tmp_path / "pred.table"
    bw.write_text("old bigwig")
    h5.write_text("old hdf5")
    _killed_at(event, PAIR_SCRIPT, str(bw), str(h5))
    assert (bw.read_text().split()[0], h5.read_text().split()[0]) == after_kill
    assert any(p.name.endswith(".journal") for p in tmp_path.iterdir())  # the commit point was passed
    remove_stale_temporaries(tmp_path)
    assert (bw.read_text(), h5.read_text()) == ("new bigwig", "new hdf5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.signal", "pred.table"]


def test_a_journal_can_only_commit_a_write(tmp_path):
    dead = _dead_pid()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    journal = tmp_path / f".tmp-{dead}-0123abcd-pred.bw.journal"
    journal.write_text(json.dumps({"renames": [[str(precious), str(tmp_path / "pred.bw")]]}))
    with pytest.raises(ValueError, match="not the commit of a dream-keras write"):
        remove_stale_temporaries(tmp_path)
    assert precious.read_text() == "keep" and not (tmp_path / "pred.bw").exists()


def test_paired_outputs_failing_before_the_commit_keep_both_old(tmp_path):
    from data_prep.outputs import paired_paths

    bw, h5 = tmp_path / "pred.bw", tmp_path / "pred.h5"
    bw.write_text("old bigwig")
    h5.write_text("old hdf5")
    with pytest.raises(OSError):
        with paired_paths([bw, h5]) as (new_bw, new_h5):
            new_bw.write_text("new bigwig")
            raise OSError("disk full")
    assert (bw.read_text(), h5.read_text()) == ("old bigwig", "old hdf5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.bw", "pred.h5"]
    # a pair whose bigWig is cut short is not committed either
    with pytest.raises(OutputWriteError, match="pred.bw: the file written is incomplete"):
        with paired_paths([bw, h5]) as (new_bw, new_h5):
            new_bw.write_bytes(b"\x26\xfc\x8f\x88" + bytes(100))
            with h5py.File(new_h5, "w") as handle:
                handle["x"] = np.arange(3)
    assert (bw.read_text(), h5.read_text()) == ("old bigwig", "old hdf5")


# --- a full disk or a failed write (issue 27) -----------------------------------------------------------


def _limited(code: str, *args, limit: int) -> subprocess.CompletedProcess:
    """``code`` in a child process whose files may not grow past ``limit`` bytes (``ulimit -f``)."""
    return subprocess.run([sys.executable, "-c", code, *args], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))


@pytest.mark.parametrize("writer", ["bigwig", "hdf5", "text"])
def test_a_write_past_the_size_limit_leaves_no_file_and_says_why(tmp_path, writer):
    code = textwrap.dedent("""
        import sys, numpy as np, h5py
        from data_prep.outputs import OutputWriteError, atomic_path, run_isolated
        out = sys.argv[1]
        try:
            with atomic_path(out) as tmp:
                if out.endswith(".bw"):
                    import pyBigWig
                    def write():
                        bw = pyBigWig.open(str(tmp), "w")
                        bw.addHeader([("chr1", 10_000_000)])
                        pos = np.arange(0, 600_000, 3, dtype=np.uint32)
                        bw.addEntries("chr1", pos, values=np.ones(len(pos), np.float32), span=1)
                        bw.close()
                    run_isolated(write, tmp, out)
                elif out.endswith(".h5"):
                    with h5py.File(tmp, "w") as handle:
                        handle["x"] = np.random.default_rng(0).random(2_000_000)
                else:
                    tmp.write_text("x" * 2_000_000)
        except OutputWriteError as error:
            print(error)
            sys.stdout.flush()
            import os
            os._exit(2)
        print("written")
    """)
    out = tmp_path / {"bigwig": "signal.bw", "hdf5": "scores.h5", "text": "table.tsv"}[writer]
    done = _limited(code, str(out), limit=64 * 1024)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"could not write {out}: the file reached the file size limit (ulimit -f)" in done.stdout
    assert "file size limit (ulimit -f): 65.5 KB" in done.stdout and "Nothing was written" in done.stdout
    assert list(tmp_path.iterdir()) == []  # no file under a final name, no temporary left


def test_a_truncated_bigwig_is_never_renamed_into_place(tmp_path, data_dir):
    whole = (data_dir / "atac_mm10" / "tn5_insertions.bw").read_bytes()
    out = tmp_path / "signal.bw"
    with pytest.raises(OutputWriteError, match="cut short"):
        with atomic_path(out) as tmp:
            tmp.write_bytes(whole[:-4096])
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_path(out) as tmp:
        tmp.write_bytes(whole)
    assert out.read_bytes() == whole


def test_an_output_below_a_regular_file_is_refused_before_any_work(tmp_path):
    (tmp_path / "results").write_text("a file, not a folder")
    for kind, target in (("folder", tmp_path / "results" / "run"), ("files", tmp_path / "results" / "x.bw")):
        with pytest.raises(InputError, match=r"results is a file, not a folder"):
            with open_output(target, kind=kind):
                raise AssertionError("the work must not start")


# --- recorded inputs -------------------------------------------------------------------------------------


def test_changed_inputs_are_named_and_refused(tmp_path):
    peaks = tmp_path / "peaks.narrowPeak"
    peaks.write_text("chr1\t10\t20\n")
    genome = tmp_path / "genome.fa"
    genome.write_text(">chr1\nACGT\n")
    recorded = fingerprints({"peaks": peaks, "genome": genome})
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
    run = RunFolder.create(tmp_path / "run")
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
    fresh = RunFolder.create(tmp_path / "fresh")
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


def test_opening_an_output_clears_what_killed_runs_left_there_and_only_there(tmp_path, capsys):
    dead = _dead_pid()
    export_dir = tmp_path / "serving" / "model"
    export_dir.mkdir(parents=True)
    (export_dir / f".tmp-{dead}-89abcdef-3").mkdir()  # a killed export's version folder
    run = _fake_run(tmp_path / "run")
    (run / "logs" / "checkpoint" / f".tmp-{dead}-89abcdef-last.weights.h5").write_bytes(b"half")
    plain = tmp_path / "my_folder" / "deep"
    plain.mkdir(parents=True)
    (plain / f".tmp-{dead}-89abcdef-x").write_text("not under a dream-keras output folder")
    with open_output(export_dir / "4", kind="files"):
        pass
    assert not any(export_dir.iterdir())
    with open_output(run, resume=True):
        pass
    assert not any(p.name.startswith(".tmp-") for p in run.rglob("*"))
    with open_output(tmp_path / "my_folder" / "new_output"):
        pass
    assert (plain / f".tmp-{dead}-89abcdef-x").exists()  # only manifest folders are searched deeply
    assert len([line for line in capsys.readouterr().out.splitlines() if line.startswith("removed")]) == 2
