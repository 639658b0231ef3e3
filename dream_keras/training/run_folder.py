"""Run folders: ``models/``, ``logs/`` (``run.json``, per-epoch CSV, checkpoints), ``evaluation/``.

A run folder is created empty; an existing non-empty folder is refused unless the caller resumes an
interrupted run in it or overwrites it. ``logs/run.json`` holds every resolved parameter, the
package version and the size and SHA-256 of every input file, so ``--config run.json`` repeats it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib

from data_prep.atomic import atomic_path, write_text_atomic
from data_prep.errors import InputError

SUBFOLDERS = ("models", "logs", "evaluation")

#: Name of the per-epoch training log in ``logs/`` (every task's runs).
TRAINING_LOG = "training_log.csv"


def file_fingerprint(path: str | os.PathLike) -> dict:
    """``{"path": absolute path, "size": bytes, "sha256": hex}`` of one input file."""
    path = pathlib.Path(path).resolve()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "size": path.stat().st_size, "sha256": digest.hexdigest()}


def write_json_atomic(path: str | os.PathLike, obj) -> pathlib.Path:
    """Write ``obj`` as indented JSON through a temporary file."""
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, pathlib.Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


class RunFolder:
    """One run's output folder.

    Use :meth:`prepare` to create or reuse it; ``models``, ``logs``, ``evaluation`` and
    ``checkpoints`` (``logs/checkpoint``) are paths.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = pathlib.Path(root)
        self.models = self.root / "models"
        self.logs = self.root / "logs"
        self.evaluation = self.root / "evaluation"
        self.checkpoints = self.logs / "checkpoint"

    @classmethod
    def check(cls, root: str | os.PathLike, *, resume: bool = False, overwrite: bool = False) -> list[str]:
        """Raise :class:`InputError` when :meth:`prepare` would refuse ``root``; change nothing.

        Returns the names of what the folder holds now (``[]`` when it is new or empty), so a
        command can refuse a folder before it spends time reading its inputs.
        """
        if resume and overwrite:
            raise InputError("--resume and --overwrite exclude each other: resume continues the run in the "
                             "folder, overwrite deletes it")
        run = cls(root)
        if run.root.exists() and not run.root.is_dir():
            raise InputError(f"output folder {run.root} is a file; choose another --out")
        existing = sorted(p.name for p in run.root.iterdir()) if run.root.is_dir() else []
        if resume:
            if not (run.checkpoints / "state.json").exists() and not (run.logs / "run.json").exists():
                raise InputError(f"nothing to resume in {run.root}: it holds no checkpoint "
                                 f"({run.checkpoints / 'state.json'} is missing) and no logs/run.json; "
                                 "start the run without --resume")
        elif existing:
            if not overwrite:
                raise InputError(f"output folder {run.root} is not empty (it holds {', '.join(existing[:5])}"
                                 f"{', ...' if len(existing) > 5 else ''}); pass --overwrite to replace it, "
                                 "--resume to continue an interrupted run, or choose another --out")
            # only what the manifests list is deleted; anything else (a user's file) refuses the overwrite
            from dream_keras.training.manifest import check_replaceable

            check_replaceable(run.root)
        return existing

    @classmethod
    def prepare(cls, root: str | os.PathLike, *, resume: bool = False, overwrite: bool = False,
                subfolders: tuple[str, ...] = SUBFOLDERS) -> "RunFolder":
        """Create the folder, or check that it may be reused.

        An existing non-empty folder is refused unless ``resume`` (it must hold an interrupted run:
        its checkpoint, or at least the ``logs/run.json`` a run writes before it trains) or
        ``overwrite`` (the files its manifest lists are deleted; a folder holding anything else, or
        no manifest, is refused, so a mistyped ``--out`` never deletes a user's files; commands
        replace a folder through :func:`dream_keras.training.staging.staged_output` instead, which
        keeps the old run until the new one is finished). ``subfolders`` are created (a run over
        several folds keeps only ``logs`` at its top and one run folder per fold). The folder's
        manifest (:mod:`dream_keras.training.manifest`) is recorded from here on.
        """
        from dream_keras.training.manifest import delete_owned, start_recording, stop_recordings

        existing = cls.check(root, resume=resume, overwrite=overwrite)
        run = cls(root)
        if not resume:
            stop_recordings(run.root)  # a new run: an earlier recording of this folder in this process ends
            if existing:
                delete_owned(run.root)
        for name in subfolders:
            (run.root / name).mkdir(parents=True, exist_ok=True)
        start_recording(run.root, resume=resume)
        return run

    def write_run_json(self, command: str, parameters: dict, inputs: dict[str, str | os.PathLike | None],
                       extra: dict | None = None) -> pathlib.Path:
        """Write ``logs/run.json``: the command, every resolved parameter, version, input fingerprints,
        and ``extra`` sections (e.g. ``{"data": {...}}``: values derived from the inputs)."""
        from dream_keras import __version__
        from dream_keras.training.input_history import carry_input_history
        from dream_keras.training.manifest import hash_inputs_timed

        record = {
            "command": command,
            "dream_keras_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "parameters": parameters,
            "inputs": hash_inputs_timed({name: path for name, path in inputs.items() if path is not None}),
            **(extra or {}),
        }
        # a resumed run keeps the record of what its first epochs read
        record = carry_input_history(self, record)
        return write_json_atomic(self.logs / "run.json", record)

    def read_run_json(self) -> dict:
        return read_run_json(self.logs / "run.json")


def read_run_json(path: str | os.PathLike) -> dict:
    """Read a ``run.json`` written by :meth:`RunFolder.write_run_json`; errors name the file."""
    path = pathlib.Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"config file {path} does not exist; pass the run.json of an earlier run") from None
    except json.JSONDecodeError as err:
        raise InputError(f"config file {path} is not valid JSON ({err}); pass the run.json of an earlier run") \
            from None
    if not isinstance(record, dict) or "parameters" not in record:
        raise InputError(f"config file {path} has no 'parameters'; pass the logs/run.json of an earlier run")
    return record


__all__ = ["RunFolder", "atomic_path", "file_fingerprint", "read_run_json", "write_json_atomic"]
