"""``--overwrite`` replaces an output folder only once the new one is finished (build aside, then swap).

:func:`staged_output` yields the folder a command writes. With ``--overwrite`` and an existing
non-empty ``OUT`` it first refuses anything the manifest does not own
(:func:`data_prep.outputs.manifest.check_replaceable`), then yields a staging folder beside it,
``.tmp-<pid>-<token>-OUT.staging``. When the command succeeds the swap is:

1. ``OUT`` is renamed to ``.tmp-<pid>-<token>-OUT.replaced`` (checked again first: a file the user
   added during training is never deleted),
2. the staging folder is renamed to ``OUT``,
3. the files the old run's manifest owns are deleted from the ``.replaced`` folder (each checked
   inside it, :mod:`data_prep.outputs.containment`), and the folders left empty; anything else left
   in it is renamed to ``OUT.kept-<time>`` and reported.

A command killed before step 1 leaves the old run untouched (its staging folder is a stale
temporary, removed by the next command writing there). Killed between steps 1 and 2,
``OUT`` is missing until the next dream-keras command writing beside it runs
:func:`recover_swaps`: it renames the finished staging folder in (or the old run back when the
staging folder is unfinished). Killed after step 2, the same recovery deletes the old run's files
by the same rules as step 3.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pathlib
import shutil
import uuid
from typing import Iterator

from data_prep.outputs import manifest
from data_prep.outputs.atomic import TEMPORARY_NAME, write_text_atomic
from data_prep.outputs.containment import plain_relative
from data_prep.outputs.temporaries import process_alive

STAGING_SUFFIX = ".staging"
REPLACED_SUFFIX = ".replaced"


def _timestamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _keep_remainder(aside: pathlib.Path, out: pathlib.Path, remaining: list[str]) -> None:
    kept = out.with_name(f"{out.name}.kept-{_timestamp()}")
    os.rename(aside, kept)
    print(f"warning: {', '.join(remaining[:8])} appeared in {out} while it was being replaced; kept in {kept}",
          flush=True)


def _rewrite_recorded_paths(staging: pathlib.Path, out: pathlib.Path) -> None:
    """Rewrite the staging paths recorded in run files to where they will be after the swap.

    Paths into the staging folder recorded in ``run.json`` and ``pipeline.json`` files (a quickstart's nonpeaks and bias
    model) are rewritten to where they will be after the swap.
    """
    old, new = json.dumps(str(staging))[1:-1], json.dumps(str(out))[1:-1]
    for record in [*staging.rglob("logs/run.json"), *staging.rglob("logs/pipeline.json")]:
        text = record.read_text()
        if old in text:
            write_text_atomic(record, text.replace(old, new))


def swap_in(staging: pathlib.Path, out: pathlib.Path, token: str) -> None:
    """Replace ``out`` by the finished ``staging`` folder (steps 1-3 of the module docstring)."""
    try:
        manifest.check_replaceable(out)
    except Exception as error:
        # The user changed the old folder during training: neither is deleted.
        new = out.with_name(f"{out.name}.new-{_timestamp()}")
        os.rename(staging, new)
        raise type(error)(f"{error}. The new run is kept in {new}") from None
    aside = out.with_name(f".tmp-{os.getpid()}-{token}-{out.name}{REPLACED_SUFFIX}")
    os.rename(out, aside)
    os.rename(staging, out)
    remaining = manifest.delete_owned(aside)
    if remaining:
        _keep_remainder(aside, out, remaining)


@contextlib.contextmanager
def staged_output(out: str | os.PathLike, *, overwrite: bool, resume: bool = False) -> Iterator[pathlib.Path]:
    """Yield the folder to write ``out``'s content into; finish its manifest on success.

    Args:
        out: the output folder the user named.
        overwrite: replace a non-empty ``out`` (a staging folder is yielded, swapped in at the end).
        resume: continue in ``out`` (yielded as it is).

    The command inside writes its folder as a new one (``overwrite`` needs no deleting there).
    On an exception the staging folder is deleted and ``out`` is left as it was.
    """
    out = pathlib.Path(os.path.abspath(out))
    replacing = overwrite and not resume and out.is_dir() and any(out.iterdir())
    if not replacing:
        try:
            yield out
        except BaseException:
            manifest.stop_recordings(out)
            raise
        manifest.finish_recordings(out)
        return
    manifest.check_replaceable(out)
    token = uuid.uuid4().hex[:8]
    staging = out.with_name(f".tmp-{os.getpid()}-{token}-{out.name}{STAGING_SUFFIX}")
    try:
        yield staging
        _rewrite_recorded_paths(staging, out)
        manifest.finish_recordings(staging)
    except BaseException:
        manifest.stop_recordings(staging)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, out, token)


def final_folder(folder: str | os.PathLike) -> pathlib.Path:
    """Where ``folder`` ends up: ``OUT`` for a staging folder of :func:`staged_output`, else itself."""
    folder = pathlib.Path(folder)
    match = TEMPORARY_NAME.match(folder.name)
    if match and folder.name.endswith(STAGING_SUFFIX):
        return folder.with_name(match.group(3)[: -len(STAGING_SUFFIX)])
    return folder


def recover_swaps(parent: str | os.PathLike) -> list[str]:
    """Finish the swaps that killed processes left in ``parent`` (see the module docstring).

    Returns one line per swap finished (also printed).
    """
    parent = pathlib.Path(parent)
    if not parent.is_dir():
        return []
    done = []
    for aside in sorted(parent.iterdir()):
        match = TEMPORARY_NAME.match(aside.name)
        if not match or not aside.name.endswith(REPLACED_SUFFIX) or process_alive(int(match.group(1))):
            continue
        pid, token, name = match.group(1), match.group(2), match.group(3)[: -len(REPLACED_SUFFIX)]
        if not plain_relative(name) or "/" in name or aside.is_symlink() or not aside.is_dir():
            continue  # not a folder this module moved aside
        out = parent / name
        staging = parent / f".tmp-{pid}-{token}-{name}{STAGING_SUFFIX}"
        if not out.exists():
            finished = staging.is_dir() and (manifest.read_manifest(staging) or {}).get("complete")
            if finished:
                os.rename(staging, out)
                done.append(f"{out}: the interrupted --overwrite finished (new run swapped in)")
            else:
                os.rename(aside, out)
                done.append(f"{out}: the interrupted --overwrite undone (old run restored)")
                continue
        remaining = manifest.delete_owned(aside)
        if remaining:
            _keep_remainder(aside, out, remaining)
        if not done or not done[-1].startswith(str(out)):
            done.append(f"{out}: the files of the replaced run deleted")
    for line in done:
        print(line, flush=True)
    return done


__all__ = ["final_folder", "recover_swaps", "staged_output", "swap_in"]
