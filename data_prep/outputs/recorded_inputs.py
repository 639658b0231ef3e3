"""Inputs recorded in ``run.json`` and ``pipeline.json``, checked before ``--resume``/``--config``, their history kept.

``run.json`` records each input file's path, size and SHA-256 (:func:`fingerprints`). Before a run is resumed or
repeated, :func:`changed_inputs` compares them with the files now at those paths; a change stops
the command (:func:`check_recorded_inputs`) unless ``--allow-changed-inputs``. A resumed run that
reads changed inputs keeps the record of what its earlier epochs read: ``input_history`` lists
``{"from_epoch", "to_epoch", "inputs"}`` ranges (``to_epoch`` exclusive, ``null`` for the range
still running), and ``inputs`` always holds what the latest epochs read.
"""

from __future__ import annotations

import json
import os
import pathlib
import time

from data_prep.errors import InputError
from data_prep.outputs.manifest import sha256_of


def file_fingerprint(path: str | os.PathLike) -> dict:
    """``{"path": absolute path, "size": bytes, "sha256": hex}`` of one input file."""
    path = pathlib.Path(path).resolve()
    return {"path": str(path), "size": path.stat().st_size, "sha256": sha256_of(path)}


def fingerprints(paths: dict, say=print, slow_seconds: float = 2.0) -> dict[str, dict]:
    """``{name: file_fingerprint}`` of the input files ``{name: path}`` (``None`` paths left out).

    Says how long hashing took when it was slow.
    """
    started = time.monotonic()
    found = {name: file_fingerprint(path) for name, path in paths.items() if path is not None}
    seconds = time.monotonic() - started
    if seconds > slow_seconds:
        total = sum(f["size"] for f in found.values())
        say(f"hashed {len(found)} input file(s), {total / 1e9:.2f} GB, in {seconds:.1f} s (SHA-256, "
            f"{total / 1e6 / seconds:.0f} MB/s)")
    return found


def changed_inputs(recorded: dict, skip=(), say=print, slow_seconds: float = 2.0) -> list[str]:
    """One line per recorded input whose file is missing or differs in size or SHA-256.

    Args:
        recorded: ``run.json``'s ``inputs`` (``{name: {"path", "size", "sha256"}}``).
        skip: input names not to check (the command names another file for them).
        say: where the one-line notes go (a slow comparison, going on with changed inputs).
        slow_seconds: a comparison that takes longer than this is reported through ``say``.
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


__all__ = ["carry_input_history", "changed_inputs", "check_recorded_inputs", "file_fingerprint", "fingerprints"]
