"""What the output folder of ``prep bigwig --cell-groups`` records, and what a resumed run keeps.

The folder is opened like every output (:func:`data_prep.outputs.open_output`: new or empty,
``--resume`` in place, ``--overwrite`` built beside and swapped in, locked, with its manifest). It holds
``prep_bigwig.json`` (the parameters, the size and SHA-256 of the inputs and the group files, written
first), one bigWig per group (each renamed into place when complete), then ``groups_summary.tsv``,
``samples.tsv`` and ``barcodes_not_seen.txt`` (written last: their presence means the run finished).
A resumed run must name the same inputs (unchanged) and parameters; the bigWigs already there are
kept and the pass writes the others.
"""

from __future__ import annotations

import datetime
import json
import pathlib

from data_prep.errors import InputError
from data_prep.outputs import write_text_atomic
from data_prep.outputs.recorded_inputs import changed_inputs, fingerprints
from data_prep.reads.groups_summary import SUMMARY_NAME

RECORD_NAME = "prep_bigwig.json"


def _changed_parameters(recorded: dict, current: dict) -> list[str]:
    before = recorded.get("parameters", {})
    return [f"{name} (recorded {before.get(name)!r}, now {value!r})"
            for name, value in current["parameters"].items() if before.get(name) != value]


def _changed_files(recorded: dict, inputs: dict) -> list[str]:
    """Inputs named now that are not the recorded files, or recorded files that changed since."""
    lines = []
    for name, path in inputs.items():
        before = recorded.get("inputs", {}).get(name, {})
        if str(pathlib.Path(path).resolve()) != before.get("path"):
            lines.append(f"--{name.replace('_', '-')} {path} is not the recorded {before.get('path')}")
    return lines + changed_inputs(recorded.get("inputs", {}))


def start_groups_folder(folder: pathlib.Path, record: dict, *, resume: bool) -> list[str]:
    """Write ``prep_bigwig.json`` into the opened output ``folder``; return the bigWig names to keep.

    Args:
        folder: the folder being written (``OpenedOutput.path``).
        record: ``{"parameters": {...}, "inputs": {name: path}, "files": [group file stems]}`` of this run.
        resume: the folder holds an interrupted (or finished) run of the same inputs and parameters.

    Returns:
        File names (``<stem>.bw``) of groups an earlier run finished (``resume`` only), or ``["*"]`` when
        the earlier run finished altogether.

    Raises:
        InputError: a resumed run with other inputs, changed input files or other parameters (named).
    """
    record_path = folder / RECORD_NAME
    written = {**record, "inputs": fingerprints(record["inputs"]), "command": "prep bigwig --cell-groups",
               "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    done: list[str] = []
    if resume:
        earlier = json.loads(record_path.read_text())
        changed = _changed_parameters(earlier, record) + _changed_files(earlier, record["inputs"])
        if changed:
            raise InputError(f"--resume in {folder} with other inputs or options than its run: {'; '.join(changed)}. "
                             "Give the same ones, or start again with --overwrite")
        if (folder / SUMMARY_NAME).is_file():
            return ["*"]
        done = [f"{stem}.bw" for stem in record["files"] if (folder / f"{stem}.bw").is_file()]
        written["created"] = earlier.get("created", written["created"])
    write_text_atomic(record_path, json.dumps(written, indent=2) + "\n")
    return done


__all__ = ["RECORD_NAME", "start_groups_folder"]
