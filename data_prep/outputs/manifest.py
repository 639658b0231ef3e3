"""The manifest of an output folder: every file and folder dream-keras wrote there, with sizes and SHA-256.

``ROOT/logs/manifest.json`` (run folders, the parent of ``--fold all`` runs, pipeline and quickstart
folders)::

    {"format": 1, "complete": true, "updated": "...",
     "files": {"models/model.keras": {"size": 123, "sha256": "..."}, ...},
     "folders": ["evaluation", "logs", "logs/checkpoint", "models"],
     "not_written_by_dream_keras": ["logs/notes.txt"]}

It is rewritten atomically just before and just after every file the tool renames into the folder
(a file about to appear is listed with ``size`` null, so a kill between the rename and the next update
cannot leave a file of the tool unlisted), before a file is written in place (:func:`expect`: Keras's
per-epoch CSV log), and once more, with ``complete: true``, when the command finishes. A recording
lists every file present except those found in the folder when a ``--resume`` started that no
manifest listed (``not_written_by_dream_keras``): while a run is recording, its folder is the tool's.
Run folders inside it (the folds of ``--fold all``, a pipeline's stages) keep manifests of their own,
which the outer one lists as its files.

:func:`survey` sorts what a folder holds by ITS OWN manifest only, never by a manifest found deeper
(a copy of another run placed inside is the user's): a file is the tool's when the manifest lists it
and, if the run finished, it still has the listed size and SHA-256 (a run that failed or was killed
wrote some files in place after its last update: any listed file counts). Every entry is checked to
be a plain path inside the folder (:mod:`data_prep.outputs.containment`); one that is not refuses
the whole survey, so ``--overwrite`` deletes nothing. ``--overwrite`` deletes only what the survey
owns (:func:`delete_owned`) and refuses while anything else exists (:func:`check_replaceable`). A
folder without a manifest is refused: nothing tells its files from the user's.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import pathlib

from data_prep.errors import InputError
from data_prep.outputs.atomic import TEMPORARY_NAME, add_write_listener, write_text_atomic
from data_prep.outputs.containment import delete_file, inside, plain_relative, remove_empty_folder

MANIFEST = pathlib.PurePosixPath("logs/manifest.json")
FORMAT = 1


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(root: pathlib.Path) -> tuple[list[str], list[str]]:
    """Files and folders under ``root`` as POSIX paths relative to it.

    Files (symbolic links included, never followed) and folders under ``root`` as POSIX paths relative to it, skipping
    temporary names (writes in flight).
    """
    files, folders = [], []
    for folder, dirnames, filenames in os.walk(root):
        base = pathlib.Path(folder)
        dirnames[:] = sorted(d for d in dirnames if not TEMPORARY_NAME.match(d))
        for name in list(dirnames):
            path = base / name
            if path.is_symlink():  # a link to a folder is a file here, and os.walk does not enter it
                files.append(path.relative_to(root).as_posix())
                dirnames.remove(name)
            else:
                folders.append(path.relative_to(root).as_posix())
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
        self.expected: set[str] = set()  # files about to appear (renamed in, or written in place)
        self.listed: set[str] = set()  # the files of the last manifest written
        self._hashes: dict[str, tuple[int, int, str]] = {}  # path -> (size, mtime_ns, sha256)

    def write(self, complete: bool = False) -> None:
        files, folders = _walk(self.root)
        listed = {}
        for relative in files:
            if relative in self.not_ours or relative == str(MANIFEST):
                continue
            path = self.root / relative
            stat = path.lstat()
            cached = self._hashes.get(relative)
            if cached is None or cached[:2] != (stat.st_size, stat.st_mtime_ns):
                digest = sha256_of(path) if not path.is_symlink() else None
                cached = (stat.st_size, stat.st_mtime_ns, digest)
                self._hashes[relative] = cached
            listed[relative] = {"size": cached[0], "sha256": cached[2]}
        if not complete:
            for relative in sorted(self.expected - set(listed)):
                listed[relative] = {"size": None, "sha256": None}
        self.listed = set(listed)
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


def _recordings_holding(path: pathlib.Path):
    for root, recording in list(_recordings.items()):
        if root not in _active_writes and path.is_relative_to(root) and recording.root.is_dir():
            yield recording


def _on_write(path: pathlib.Path, renamed: bool) -> None:
    """Before a rename: list ``path`` as about to appear; after: rewrite the manifest (not for its own writes)."""
    path = pathlib.Path(os.path.abspath(path))
    if path.name == MANIFEST.name and path.parent.name == "logs":
        return
    for recording in _recordings_holding(path):
        relative = path.relative_to(recording.root).as_posix()
        if not renamed:
            if relative in recording.listed:
                continue  # listed already (a file replaced): nothing new can appear unlisted
            recording.expected.add(relative)
        recording.write()


add_write_listener(_on_write)


def expect(path: str | os.PathLike) -> None:
    """List ``path`` as the tool's before it is written in place.

    List ``path`` as the tool's in every recording folder holding it, before it is written in place (a file that is
    appended to, such as Keras's CSV log, never passes through a rename).
    """
    path = pathlib.Path(os.path.abspath(path))
    for recording in _recordings_holding(path):
        relative = path.relative_to(recording.root).as_posix()
        if relative not in recording.expected:
            recording.expected.add(relative)
            recording.write()


def start_recording(root: str | os.PathLike, *, resume: bool = False) -> None:
    """Begin (or, resuming, continue) the manifest of ``root``; a no-op when it is recording already.

    Resuming, files present that the folder's manifest does not own are recorded as not the tool's.
    """
    root = pathlib.Path(os.path.abspath(root))
    if root in _recordings:
        return
    not_ours = []
    if resume:
        previous = read_manifest(root) or {}
        not_ours = [entry for entry in previous.get("not_written_by_dream_keras", []) if plain_relative(entry)]
        owned = set(survey(root).owned_files) if previous else set()
        files, _ = _walk(root)
        not_ours += [f for f in files if root / f not in owned and f != str(MANIFEST) and f not in not_ours]
    else:
        files, _ = _walk(root) if root.is_dir() else ([], [])
        not_ours = [f for f in files if f != str(MANIFEST)]
    _recordings[root] = _Recording(root, not_ours)
    (root / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    _recordings[root].write()


def is_recording(root: str | os.PathLike) -> bool:
    """Whether this process records the manifest of ``root``."""
    return pathlib.Path(os.path.abspath(root)) in _recordings


def finish_recordings(root: str | os.PathLike) -> None:
    """Write the final manifest of every recording in or under ``root`` and stop them.

    Write the final (``complete``) manifest of every recording in or under ``root``, innermost first, and stop them.
    """
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
    """What a folder holds.

    ``owned_files``/``owned_folders`` (absolute paths its manifest lists, checked inside it) and ``foreign`` (relative
    paths of everything else, with why), ``has_manifest``.
    """

    root: pathlib.Path
    has_manifest: bool
    owned_files: list[pathlib.Path]
    owned_folders: list[pathlib.Path]
    foreign: list[str]


def _listed_entries(root: pathlib.Path, record: dict) -> None:
    """Refuse a manifest any of whose entries is not a plain path inside ``root`` (names the entry)."""
    source = f"the manifest {root / MANIFEST}"
    for section in ("files", "folders", "not_written_by_dream_keras"):
        entries = record.get(section) or []
        if not isinstance(entries, (dict, list)):
            raise InputError(f"{source} has a '{section}' that is not a list; dream-keras deletes nothing there. "
                             "Fix: delete the folder by hand")
        for entry in entries:
            inside(root, entry, source=source)


def survey(root: str | os.PathLike) -> Survey:
    """Sort the content of ``root`` by its own manifest (see the module docstring).

    Raises:
        OutsideFolder: an entry of the manifest is not a plain path inside ``root``.
    """
    root = pathlib.Path(os.path.abspath(root))
    files, folders = _walk(root)
    record = read_manifest(root)
    owned_files, owned_folders, changed = set(), set(), {}
    if record is not None:
        _listed_entries(root, record)
        owned_files.add(root / str(MANIFEST))
        owned_folders.update(root / folder for folder in record.get("folders", []))
        complete = bool(record.get("complete"))
        for listed, fingerprint in record["files"].items():
            path = root / listed
            if not os.path.lexists(path):
                continue
            if path.is_symlink() or not path.is_file():
                changed[path] = "replaced by a link or a folder since dream-keras wrote it"
                continue
            if not complete:  # a failed or killed run: its files may have changed after the last update
                owned_files.add(path)
                continue
            fingerprint = fingerprint if isinstance(fingerprint, dict) else {}
            if path.stat().st_size == fingerprint.get("size") and sha256_of(path) == fingerprint.get("sha256"):
                owned_files.add(path)
            else:
                changed[path] = "changed since dream-keras wrote it"
    foreign = []
    for relative in files:
        path = root / relative
        if path in owned_files:
            continue
        foreign.append(f"{relative} ({changed[path]})" if path in changed else relative)
    for relative in folders:
        path = root / relative
        if path not in owned_folders and not any(f.is_relative_to(path) for f in owned_files):
            foreign.append(relative + "/")
    # a foreign folder is named once, not with each file inside it
    folders_named = [f for f in foreign if f.endswith("/")]
    foreign = [f for f in foreign if not any(f != d and f.startswith(d) for d in folders_named)]
    return Survey(root, record is not None, sorted(owned_files), sorted(owned_folders), sorted(foreign))


def check_replaceable(root: str | os.PathLike, what: str = "--overwrite") -> Survey:
    """Raise :class:`InputError` unless everything in ``root`` is owned by its manifest."""
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
    """Delete the files the manifest of ``root`` owns, then the folders left empty (``root`` too).

    Every path is checked inside ``root`` as it is deleted (:mod:`data_prep.outputs.containment`).

    Returns:
        What remains in ``root`` (relative paths, temporaries included); ``[]`` when it is gone.
    """
    found = survey(root)
    for path in found.owned_files:
        if os.path.lexists(path):
            delete_file(found.root, path)
    candidates = {*found.owned_folders, *(p.parent for p in found.owned_files)}
    for folder in sorted((f for f in candidates if f.is_relative_to(found.root)), key=lambda p: -len(p.parts)):
        if folder != found.root:
            remove_empty_folder(found.root, folder)
    remove_empty_folder(found.root, found.root)
    if not found.root.exists():
        return []
    return sorted(p.relative_to(found.root).as_posix() for p in found.root.rglob("*"))


def clear_below(root: str | os.PathLike, folder: str | os.PathLike) -> None:
    """Empty ``folder`` of the files ``root``'s manifest owns there.

    Empty ``folder``, a folder inside the recorded output ``root``, of the files ``root``'s manifest owns there (for a
    stage or fold that runs again from a clean folder); refused, deleting nothing, while it holds anything else.

    Raises:
        InputError: ``folder`` holds what ``root``'s manifest does not own (named).
    """
    root = pathlib.Path(os.path.abspath(root))
    folder = pathlib.Path(os.path.abspath(folder))
    if not folder.is_dir():
        return
    relative = folder.relative_to(root).as_posix() + "/"
    for recording in [r for r in _recordings.values() if r.root == root]:
        recording.write()  # the manifest lists what is there now
    found = survey(root)
    foreign = [entry for entry in found.foreign if entry.startswith(relative)]
    if foreign:
        raise InputError(f"{folder} must start again from a clean folder, but it holds what dream-keras did not "
                         f"write ({', '.join(foreign[:8])}); move them out of the folder, then run the command again")
    stop_recordings(folder)
    for path in found.owned_files:
        if path.is_relative_to(folder) and os.path.lexists(path):
            delete_file(root, path)
    for inner in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()),
                        key=lambda p: -len(p.parts)):
        remove_empty_folder(root, inner)


__all__ = ["MANIFEST", "Survey", "check_replaceable", "clear_below", "delete_owned", "expect", "finish_recordings",
           "is_recording",
           "read_manifest", "sha256_of", "start_recording", "stop_recordings", "survey"]
