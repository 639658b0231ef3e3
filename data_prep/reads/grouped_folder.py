"""The output folder of ``prep bigwig --cell-groups``: start, resume or replace, in one place.

The folder holds ``prep_bigwig.json`` (the parameters and the inputs' sizes and times, written
first), one bigWig per group (each renamed into place when complete), then ``groups_summary.tsv``,
``samples.tsv`` and ``barcodes_not_seen.txt`` (written last: their presence means the run finished).

- A new run needs a new or empty folder.
- ``resume``: the folder's record must name the same inputs (unchanged in size and modification
  time; the groups table also by SHA-256) and parameters; the bigWigs already there are kept and the
  pass writes the others. A finished folder is left as it is.
- ``overwrite``: the files the earlier record lists are removed first (nothing else in the folder).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib

from data_prep.atomic import write_text_atomic
from data_prep.errors import InputError
from data_prep.reads.groups_summary import SAMPLES_NAME, SUMMARY_NAME, UNSEEN_NAME
from data_prep.stale_temporaries import TEMPORARY_NAME, remove_stale_temporaries

RECORD_NAME = "prep_bigwig.json"


def input_fingerprint(path: str | os.PathLike, *, digest: bool = False) -> dict:
    """``{"path", "size", "mtime_ns"}`` of an input (and its ``sha256`` when ``digest``: small files)."""
    path = pathlib.Path(path).resolve()
    stat = path.stat()
    entry = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if digest:
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entry


def _changes(recorded: dict, current: dict) -> list[str]:
    changed = []
    for name, value in current["parameters"].items():
        if recorded.get("parameters", {}).get(name) != value:
            changed.append(f"{name} (recorded {recorded.get('parameters', {}).get(name)!r}, now {value!r})")
    for name, entry in current["inputs"].items():
        before = recorded.get("inputs", {}).get(name, {})
        if {k: before.get(k) for k in entry} != entry:
            changed.append(f"{name} {entry['path']} (size or modification time differs from the run being resumed)")
    return changed


def _listed_outputs(folder: pathlib.Path, record: dict) -> list[pathlib.Path]:
    """The files a record's run writes, resolved inside ``folder`` (a name that escapes it is refused)."""
    names = [f"{stem}.bw" for stem in record.get("files", [])] + [SUMMARY_NAME, SAMPLES_NAME, UNSEEN_NAME, RECORD_NAME]
    paths = []
    root = folder.resolve()
    for name in names:
        path = (folder / name).resolve()
        if path.parent != root or os.path.sep in name or name.startswith("."):
            raise InputError(f"{folder / RECORD_NAME} lists {name!r}, which is not a file of this folder; remove the "
                             "folder by hand or choose another --out-dir")
        paths.append(folder / name)
    return paths


def open_groups_folder(folder: str | os.PathLike, record: dict, *, resume: bool, overwrite: bool) -> list[str]:
    """Create or reopen the output folder of a grouped conversion; return the bigWig names to keep.

    Args:
        folder: ``--out-dir``.
        record: ``{"parameters": {...}, "inputs": {name: fingerprint}, "files": [group file stems]}`` of
            this run (written to ``prep_bigwig.json``).
        resume: finish the run the folder holds.
        overwrite: remove the earlier run's outputs first.

    Returns:
        File names (``<stem>.bw``) of groups an earlier run finished (``resume`` only), or ``["*"]`` when
        the earlier run finished altogether.

    Raises:
        InputError: the folder is a file; not empty (without ``resume``/``overwrite``); nothing or
            something else to resume; both options.
    """
    folder = pathlib.Path(folder)
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other: --resume finishes the run in --out-dir, "
                         "--overwrite starts it again")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out-dir {folder} is a file; give a folder (it is created when missing)")
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    record_path = folder / RECORD_NAME
    earlier = json.loads(record_path.read_text()) if record_path.is_file() else None
    present = sorted(p.name for p in folder.iterdir() if not TEMPORARY_NAME.match(p.name))
    done: list[str] = []
    if resume:
        if earlier is None:
            raise InputError(f"nothing to resume in {folder}: it holds no {RECORD_NAME}; start without --resume")
        changed = _changes(earlier, record)
        if changed:
            raise InputError(f"--resume in {folder} with other inputs or options than its run: {'; '.join(changed)}. "
                             "Give the same ones, or start again with --overwrite")
        if (folder / SUMMARY_NAME).is_file():
            return ["*"]
        done = [f"{stem}.bw" for stem in record["files"] if (folder / f"{stem}.bw").is_file()]
    elif overwrite and earlier is not None:
        for path in _listed_outputs(folder, earlier):
            if path.is_file():
                path.unlink()
    elif present:
        hint = (" It holds an earlier run's outputs: --resume finishes an interrupted run, --overwrite replaces it."
                if earlier is not None else "")
        raise InputError(f"--out-dir {folder} is not empty (it holds {', '.join(present[:5])}"
                         f"{', ...' if len(present) > 5 else ''}); choose a new or empty folder.{hint}")
    record = {**record, "command": "prep bigwig --cell-groups",
              "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if resume:
        record["created"] = earlier.get("created", record["created"])
    write_text_atomic(record_path, json.dumps(record, indent=2) + "\n")
    return done
