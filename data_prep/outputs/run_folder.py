"""Run folders: ``models/``, ``logs/`` (``run.json``, per-epoch CSV, checkpoints), ``evaluation/``.

A training run writes one; ``--fold all`` writes one per fold inside its output folder (whose top
keeps only ``logs/``). The output folder itself is opened, checked, locked and (with
``--overwrite``) staged by :func:`data_prep.outputs.open_output`; :meth:`RunFolder.create` only makes
the subfolders inside it and starts the run folder's own manifest. ``logs/run.json`` holds every
resolved parameter, the package version and the size and SHA-256 of every input file, so
``--config run.json`` repeats the run.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import pathlib

from data_prep.errors import InputError
from data_prep.outputs.atomic import write_json_atomic
from data_prep.outputs.manifest import start_recording
from data_prep.outputs.recorded_inputs import carry_input_history, fingerprints

SUBFOLDERS = ("models", "logs", "evaluation")

TRAINING_LOG = "training_log.csv"
"""Name of the per-epoch training log in ``logs/`` (every task's runs)."""


def program_version() -> str:
    """The installed dream-keras version (``unknown`` when the package is run from a source tree only)."""
    try:
        return importlib.metadata.version("dream-keras")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class RunFolder:
    """One run's folder: ``models``, ``logs``, ``evaluation`` and ``checkpoints`` (``logs/checkpoint``) are paths."""

    def __init__(self, root: str | os.PathLike):
        self.root = pathlib.Path(root)
        self.models = self.root / "models"
        self.logs = self.root / "logs"
        self.evaluation = self.root / "evaluation"
        self.checkpoints = self.logs / "checkpoint"

    @classmethod
    def create(cls, root: str | os.PathLike, *, resume: bool = False,
               subfolders: tuple[str, ...] = SUBFOLDERS) -> "RunFolder":
        """Make ``subfolders`` in ``root`` (a folder inside an opened output) and record its manifest.

        ``resume``: the folder holds an interrupted run, whose manifest goes on (files found that it
        does not own are recorded as not the tool's).
        """
        run = cls(root)
        for name in subfolders:
            (run.root / name).mkdir(parents=True, exist_ok=True)
        start_recording(run.root, resume=resume)
        return run

    def write_run_json(self, command: str, parameters: dict, inputs: dict[str, str | os.PathLike | None],
                       extra: dict | None = None) -> pathlib.Path:
        """Write ``logs/run.json``.

        The command, every resolved parameter, version, input fingerprints, and ``extra`` sections (e.g. ``{"data":
        {...}}``: values derived from the inputs).
        """
        record = {
            "command": command,
            "dream_keras_version": program_version(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "parameters": parameters,
            "inputs": fingerprints(inputs),
            **(extra or {}),
        }
        # a resumed run keeps the record of what its first epochs read
        record = carry_input_history(self, record)
        return write_json_atomic(self.logs / "run.json", record)

    def read_run_json(self) -> dict:
        """The folder's ``logs/run.json`` (see :func:`read_run_json`)."""
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
    if not isinstance(record, dict) or not isinstance(record.get("parameters"), dict):
        raise InputError(f"config file {path} has no 'parameters' section; pass the logs/run.json of an earlier run")
    return record


__all__ = ["RunFolder", "SUBFOLDERS", "TRAINING_LOG", "program_version", "read_run_json"]
