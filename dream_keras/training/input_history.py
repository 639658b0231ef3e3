"""Inputs recorded in ``run.json`` checked before ``--resume``/``--config``, and their history kept.

``run.json`` records each input file's path, size and SHA-256. Before a run is resumed or
repeated, :func:`changed_inputs` compares them with the files now at those paths; a change stops
the command (:func:`check_recorded_inputs`) unless ``--allow-changed-inputs``. A resumed run that
reads changed inputs keeps the record of what its earlier epochs read: ``input_history`` lists
``{"from_epoch", "to_epoch", "inputs"}`` ranges (``to_epoch`` exclusive, ``null`` for the range
still running), and ``inputs`` always holds what the latest epochs read.
"""

from __future__ import annotations

import json
import pathlib
import time

from data_prep.errors import InputError
from dream_keras.training.manifest import sha256_of


def changed_inputs(recorded: dict, skip=(), say=print, slow_seconds: float = 2.0) -> list[str]:
    """One line per recorded input whose file is missing or differs in size or SHA-256.

    Args:
        recorded: ``run.json``'s ``inputs`` (``{name: {"path", "size", "sha256"}}``).
        skip: input names not to check (the command names another file for them).
    """
    started, lines, hashed = time.monotonic(), [], 0
    for name, fingerprint in recorded.items():
        if name in skip or not isinstance(fingerprint, dict) or "path" not in fingerprint:
            continue
        path = pathlib.Path(fingerprint["path"])
        if not path.is_file():
            lines.append(f"{name} {path} is missing")
            continue
        size = path.stat().st_size
        if size != fingerprint.get("size"):
            lines.append(f"{name} {path} changed: {fingerprint.get('size')} bytes recorded, {size} now")
            continue
        hashed += size
        if sha256_of(path) != fingerprint.get("sha256"):
            lines.append(f"{name} {path} changed: same size, different SHA-256")
    seconds = time.monotonic() - started
    if seconds > slow_seconds:
        say(f"compared the recorded inputs ({hashed / 1e9:.2f} GB hashed) in {seconds:.1f} s")
    return lines


def check_recorded_inputs(record: dict, source, *, skip=(), allow: bool = False, say=print) -> list[str]:
    """Stop when an input recorded in ``record`` (read from ``source``) changed, unless ``allow``."""
    lines = changed_inputs(record.get("inputs", {}), skip=skip, say=say)
    if lines and not allow:
        raise InputError(f"the inputs recorded in {source} changed since that run: {'; '.join(lines)}. Restore "
                         "them, or pass --allow-changed-inputs to go on with the files as they are now (run.json "
                         "then keeps what the earlier epochs read in 'input_history')")
    if lines:
        say(f"note: going on with changed inputs (--allow-changed-inputs): {'; '.join(lines)}")
    return lines


def _epochs_done(run) -> int:
    state = run.checkpoints / "state.json"
    try:
        return int(json.loads(state.read_text())["epoch"]) + 1
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _same(a: dict, b: dict) -> bool:
    return {k: (v.get("size"), v.get("sha256")) for k, v in a.items()} == \
        {k: (v.get("size"), v.get("sha256")) for k, v in b.items()}


def carry_input_history(run, record: dict) -> dict:
    """``record`` (a new ``run.json``) with the history of the one it replaces in ``run``'s folder."""
    path = run.logs / "run.json"
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return record
    history = list(previous.get("input_history", []))
    record = {**record, "created": previous.get("created", record["created"]),
              "resumed": [*previous.get("resumed", []), record["created"]]}
    old_inputs = previous.get("inputs", {})
    if not _same(old_inputs, record["inputs"]):
        done = _epochs_done(run)
        if history:
            history[-1] = {**history[-1], "to_epoch": done}
        else:
            history = [{"from_epoch": 0, "to_epoch": done, "inputs": old_inputs}]
        history.append({"from_epoch": done, "to_epoch": None, "inputs": record["inputs"]})
    if history:
        record["input_history"] = history
    return record


__all__ = ["carry_input_history", "changed_inputs", "check_recorded_inputs"]
