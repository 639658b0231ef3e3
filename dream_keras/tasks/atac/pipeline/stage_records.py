"""Completion records of pipeline stages: ``STAGE_FOLDER/completed.json``, written last and atomically.

A stage is complete when its record reads back, every output it lists is still there with the
recorded size (a folder output: still a folder) and the input files it read have the recorded sizes
and SHA-256 (``inputs``). Anything else (no record, a record cut short, a deleted or rewritten output,
a changed input) makes the stage run again. Paths inside the pipeline folder are
recorded relative to it, so a finished pipeline folder can be moved.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pathlib

from data_prep.outputs import write_json_atomic
from data_prep.outputs.containment import delete_file

RECORD_NAME = "completed.json"


@dataclasses.dataclass
class StageRecord:
    """What a finished stage left.

    ``outputs`` ``{name: absolute path}``, a ``summary`` of plain values for the report, its run time, the pipeline
    invocation that ran it and the fingerprints of the input files it read (``{name: {"path", "size", "sha256"}}``).
    """

    stage: str
    outputs: dict
    summary: dict
    seconds: float
    invocation: int
    finished: str = ""
    inputs: dict = dataclasses.field(default_factory=dict)


def _portable(path: pathlib.Path, root: pathlib.Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


def write_record(root: str | os.PathLike, folder: str | os.PathLike, record: StageRecord) -> pathlib.Path:
    """Write ``folder/completed.json`` for ``record`` (outputs with their sizes), as the stage's last act."""
    root = pathlib.Path(root)
    outputs = {}
    for name, path in record.outputs.items():
        path = pathlib.Path(path)
        outputs[name] = {"path": _portable(path, root), "size": None if path.is_dir() else path.stat().st_size}
    finished = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    document = {"stage": record.stage, "finished": finished, "seconds": round(record.seconds, 2),
                "invocation": record.invocation, "outputs": outputs, "inputs": record.inputs,
                "summary": record.summary}
    return write_json_atomic(pathlib.Path(folder) / RECORD_NAME, document)


def _same_inputs(recorded: dict, now: dict) -> bool:
    def key(fingerprints: dict) -> dict:
        return {name: (f.get("size"), f.get("sha256")) for name, f in fingerprints.items() if isinstance(f, dict)}

    return key(recorded) == key(now)


def read_record(root: str | os.PathLike, folder: str | os.PathLike, inputs: dict | None = None) -> StageRecord | None:
    """The stage's record when the stage is complete (see the module docstring), else ``None``.

    Args:
        root: the pipeline folder.
        folder: the stage's folder.
        inputs: the fingerprints of the stage's input files now; ``None`` does not compare them.
    """
    root = pathlib.Path(root)
    path = pathlib.Path(folder) / RECORD_NAME
    try:
        document = json.loads(path.read_text())
        outputs = {}
        for name, entry in document["outputs"].items():
            output = root / entry["path"]  # an absolute recorded path stays as it is
            if entry["size"] is None:
                if not output.is_dir():
                    return None
            elif not output.is_file() or output.stat().st_size != entry["size"]:
                return None
            outputs[name] = output
        recorded_inputs = document.get("inputs", {})
        if inputs is not None and not _same_inputs(recorded_inputs, inputs):
            return None
        return StageRecord(document["stage"], outputs, document.get("summary", {}), float(document["seconds"]),
                           int(document["invocation"]), document.get("finished", ""), recorded_inputs)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_record(folder: str | os.PathLike) -> None:
    """Remove the stage's record (before the stage runs again, so a crash cannot leave a stale one)."""
    path = pathlib.Path(folder) / RECORD_NAME
    if path.exists():
        delete_file(folder, path)
