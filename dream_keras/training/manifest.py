"""The manifest of an output folder: every file and folder dream-keras wrote there, with sizes and SHA-256.

``ROOT/logs/manifest.json`` (run folders, the parent of ``--fold all`` runs, quickstart folders)::

    {"format": 1, "complete": true, "updated": "...",
     "files": {"models/model.keras": {"size": 123, "sha256": "..."}, ...},
     "folders": ["evaluation", "logs", "logs/checkpoint", "models"],
     "not_written_by_dream_keras": ["logs/notes.txt"]}

It is rewritten atomically after every file the tool completes in the folder (each
:func:`data_prep.atomic.atomic_path` rename) and once more, with ``complete: true``, when the
command finishes, so a killed run's manifest covers what exists. A recording lists every file
present except those found in the folder when a ``--resume`` started that no manifest listed
(``not_written_by_dream_keras``): while a run is recording, its folder is the tool's.

:func:`survey` sorts what a folder holds into what dream-keras wrote (listed, with the same size
and, for a finished run, the same SHA-256) and everything else; ``--overwrite`` deletes only the
former (:func:`delete_owned`) and refuses while the latter exists (:func:`check_replaceable`).
A folder without a manifest (written by a dream-keras older than the manifest, or not a run
folder) is refused: nothing tells its files from the user's.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import time

from data_prep.atomic import add_write_listener, write_text_atomic
from data_prep.errors import InputError
from data_prep.stale_temporaries import TEMPORARY_NAME

MANIFEST = pathlib.PurePosixPath("logs/manifest.json")
FORMAT = 1


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_manifest(relative: str) -> bool:
    return relative == str(MANIFEST) or relative.endswith("/" + str(MANIFEST))


def _walk(root: pathlib.Path) -> tuple[list[str], list[str]]:
    """Files (symlinks included) and folders under ``root`` as POSIX paths relative to it, skipping
    temporary names (writes in flight)."""
    files, folders = [], []
    for folder, dirnames, filenames in os.walk(root):
        base = pathlib.Path(folder)
        dirnames[:] = sorted(d for d in dirnames if not TEMPORARY_NAME.match(d))
        for name in dirnames:
            path = base / name
            (files if path.is_symlink() else folders).append(path.relative_to(root).as_posix())
        files.extend((base / name).relative_to(root).as_posix() for name in sorted(filenames)
                     if not TEMPORARY_NAME.match(name))
    return files, folders


def read_manifest(root: str | os.PathLike) -> dict | None:
    """The manifest of ``root``, or ``None`` when it has none (or one that does not parse)."""
    path = pathlib.Path(root) / MANIFEST
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("files"), dict) else None


class _Recording:
    """The manifest of one folder being written by this process."""

    def __init__(self, root: pathlib.Path, not_ours: list[str]):
        self.root = root
        self.not_ours = set(not_ours)
        self._hashes: dict[str, tuple[int, int, str]] = {}  # path -> (size, mtime_ns, sha256)

    def write(self, complete: bool = False) -> None:
        files, folders = _walk(self.root)
        listed = {}
        for relative in files:
            if relative in self.not_ours or _is_manifest(relative):
                continue
            path = self.root / relative
            stat = path.lstat()
            cached = self._hashes.get(relative)
            if cached is None or cached[:2] != (stat.st_size, stat.st_mtime_ns):
                cached = (stat.st_size, stat.st_mtime_ns, sha256_of(path))
                self._hashes[relative] = cached
            listed[relative] = {"size": cached[0], "sha256": cached[2]}
        record = {"format": FORMAT, "complete": complete,
                  "updated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "files": listed, "folders": folders, "not_written_by_dream_keras": sorted(self.not_ours)}
        _active_writes.add(self.root)
        try:
            write_text_atomic(self.root / MANIFEST, json.dumps(record, indent=1) + "\n")
        finally:
            _active_writes.discard(self.root)


_recordings: dict[pathlib.Path, _Recording] = {}
_active_writes: set[pathlib.Path] = set()


def _on_write(path: pathlib.Path) -> None:
    """Rewrite the manifest of every recording folder that holds ``path`` (not for its own writes)."""
    path = pathlib.Path(os.path.abspath(path))
    if path.name == MANIFEST.name and path.parent.name == "logs":
        return
    for root, recording in list(_recordings.items()):
        if root in _active_writes or not path.is_relative_to(root):
            continue
        if recording.root.is_dir():
            recording.write()


add_write_listener(_on_write)


def start_recording(root: str | os.PathLike, *, resume: bool = False) -> None:
    """Begin (or, resuming, continue) the manifest of ``root``; a no-op when it is recording already.

    Resuming, files present that no manifest under ``root`` lists are recorded as not the tool's.
    """
    root = pathlib.Path(os.path.abspath(root))
    if root in _recordings:
        return
    not_ours = []
    if resume:
        previous = read_manifest(root) or {}
        not_ours = list(previous.get("not_written_by_dream_keras", []))
        owned = set(survey(root).owned_files) if previous else set()
        files, _ = _walk(root)
        not_ours += [f for f in files if root / f not in owned and not _is_manifest(f) and f not in not_ours]
    else:
        files, _ = _walk(root) if root.is_dir() else ([], [])
        not_ours = [f for f in files if not _is_manifest(f)]
    _recordings[root] = _Recording(root, not_ours)
    (root / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    _recordings[root].write()


def finish_recordings(root: str | os.PathLike) -> None:
    """Write the final (``complete``) manifest of every recording in or under ``root``, innermost
    first, and stop them."""
    root = pathlib.Path(os.path.abspath(root))
    for inner in sorted((r for r in _recordings if r.is_relative_to(root)), key=lambda r: -len(r.parts)):
        recording = _recordings.pop(inner)
        if inner.is_dir():
            recording.write(complete=True)


def stop_recordings(root: str | os.PathLike) -> None:
    """Stop the recordings in or under ``root`` without marking them complete (a failed command)."""
    root = pathlib.Path(os.path.abspath(root))
    for inner in [r for r in _recordings if r.is_relative_to(root)]:
        del _recordings[inner]


@dataclasses.dataclass
class Survey:
    """What a folder holds: ``owned_files``/``owned_folders`` (absolute paths the manifests list,
    unchanged) and ``foreign`` (relative paths of everything else, with why), ``has_manifest``."""

    root: pathlib.Path
    has_manifest: bool
    owned_files: list[pathlib.Path]
    owned_folders: list[pathlib.Path]
    foreign: list[str]


def survey(root: str | os.PathLike) -> Survey:
    """Sort the content of ``root`` by its manifest and those of the run folders inside it.

    A listed file counts as the tool's when its size matches and, if its run finished, its SHA-256
    too (a file of a killed run may have been written after the last manifest update).
    """
    root = pathlib.Path(os.path.abspath(root))
    files, folders = _walk(root)
    owned_files, owned_folders, changed = set(), set(), {}
    manifests = [f for f in files if _is_manifest(f)]
    has_manifest = str(MANIFEST) in manifests
    for relative in manifests:
        base = root / relative[: -len(str(MANIFEST))] if relative != str(MANIFEST) else root
        record = read_manifest(base)
        if record is None:
            continue
        owned_files.add(root / relative)
        owned_folders.update(base / folder for folder in record.get("folders", []))
        if base != root:
            owned_folders.add(base)
        for listed, fingerprint in record["files"].items():
            path = base / listed
            if not path.is_file() or path.is_symlink():
                continue
            size = path.stat().st_size
            same = size == fingerprint.get("size") and (not record.get("complete")
                                                        or sha256_of(path) == fingerprint.get("sha256"))
            if same:
                owned_files.add(path)
            else:
                changed[path] = listed
    foreign = []
    for relative in files:
        path = root / relative
        if path in owned_files:
            continue
        foreign.append(f"{relative} (changed since dream-keras wrote it)" if path in changed else relative)
    for relative in folders:
        path = root / relative
        if path not in owned_folders and not any(f.is_relative_to(path) for f in owned_files):
            foreign.append(relative + "/")
    # a foreign folder is named once, not with each file inside it
    folders_named = [f for f in foreign if f.endswith("/")]
    foreign = [f for f in foreign if not any(f != d and f.startswith(d) for d in folders_named)]
    return Survey(root, has_manifest, sorted(owned_files), sorted(owned_folders), sorted(foreign))


def check_replaceable(root: str | os.PathLike, what: str = "--overwrite") -> Survey:
    """Raise :class:`InputError` unless everything in ``root`` is listed by its manifests."""
    found = survey(root)
    if not found.has_manifest:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in found.root.iterdir())
        held = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        raise InputError(
            f"{what} refused: {found.root} has no {MANIFEST}, so dream-keras cannot tell the files it wrote from "
            f"yours (it holds {held}; written by a dream-keras older than the manifest, or not a dream-keras "
            "output). dream-keras deletes nothing there: move what you want to keep out of it and delete the "
            f"rest by hand (rm -r {found.root}), or choose another --out")
    if found.foreign:
        shown = ", ".join(found.foreign[:12]) + (f" and {len(found.foreign) - 12} more"
                                                   if len(found.foreign) > 12 else "")
        raise InputError(f"{what} refused: {found.root} holds what dream-keras did not write ({shown}); move "
                         "them out of the folder (or delete them yourself), or choose another --out")
    return found


def delete_owned(root: str | os.PathLike) -> list[str]:
    """Delete the files the manifests of ``root`` list (unchanged), then the folders left empty.

    Returns what remains (relative paths; ``[]`` when ``root`` itself is gone).
    """
    found = survey(root)
    for path in found.owned_files:
        path.unlink()
    for folder in sorted({*found.owned_folders, found.root}, key=lambda p: -len(p.parts)):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return found.foreign if found.root.exists() else []


def hash_inputs_timed(paths: dict[str, str], say=print, slow_seconds: float = 2.0) -> dict[str, dict]:
    """``{name: {"path", "size", "sha256"}}`` of input files; says how long it took when slow."""
    started = time.monotonic()
    fingerprints = {}
    for name, path in paths.items():
        resolved = pathlib.Path(path).resolve()
        fingerprints[name] = {"path": str(resolved), "size": resolved.stat().st_size, "sha256": sha256_of(resolved)}
    seconds = time.monotonic() - started
    if seconds > slow_seconds:
        total = sum(f["size"] for f in fingerprints.values())
        say(f"hashed {len(fingerprints)} input file(s), {total / 1e9:.2f} GB, in {seconds:.1f} s (SHA-256, "
            f"{total / 1e6 / seconds:.0f} MB/s)")
    return fingerprints


__all__ = ["MANIFEST", "Survey", "check_replaceable", "delete_owned", "finish_recordings", "hash_inputs_timed",
           "read_manifest", "sha256_of", "start_recording", "stop_recordings", "survey"]
