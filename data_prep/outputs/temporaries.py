"""Remove what killed processes left under temporary names (``.tmp-<pid>-<token>-...``).

Every temporary name the tool writes carries its process id
(:func:`data_prep.outputs.atomic.temporary_name`: files being written, export and run-folder staging
folders, the spill folders of ``prep bigwig``). When a command opens its output
(:func:`data_prep.outputs.open_output`), :func:`remove_stale_temporaries` removes the entries there
whose process is no longer alive (a live one may still be writing: it is left alone) and finishes
the journalled paired commits (:mod:`data_prep.outputs.paired`) of dead processes. Names ending in
``.replaced`` (a run folder moved aside during a swap) are left to :mod:`data_prep.outputs.swap`,
which restores or deletes them by their manifest.

Process ids are those of this machine: two machines writing into one shared folder are not
supported (a live writer on another host would look dead).
"""

from __future__ import annotations

import os
import pathlib
import shutil

from data_prep.outputs.atomic import TEMPORARY_NAME
from data_prep.outputs.paired import JOURNAL_SUFFIX, finish_renames

#: names handled elsewhere (a run folder moved aside during a swap holds the old run)
KEPT_SUFFIXES = (".replaced",)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (a zombie or another user's counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_entries(folder: str | os.PathLike, *, depth: int = 0) -> list[pathlib.Path]:
    """Temporary entries of dead processes in ``folder`` (and ``depth`` levels of subfolders)."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir()):
        match = TEMPORARY_NAME.match(entry.name)
        if match:
            if not process_alive(int(match.group(1))) and not entry.name.endswith(KEPT_SUFFIXES):
                found.append(entry)
        elif depth > 0 and entry.is_dir() and not entry.is_symlink():
            found.extend(stale_entries(entry, depth=depth - 1))
    return found


def remove_stale_temporaries(folder: str | os.PathLike, *, depth: int = 0, report: bool = True) -> list[str]:
    """Finish dead processes' paired commits, then remove their temporary entries in ``folder``.

    Args:
        folder: where to look (a missing folder is fine).
        depth: how many levels of subfolders to search too (a run folder: 3).
        report: print one line naming what was done, when anything was.

    Returns:
        the paths removed or completed, as text.
    """
    entries = stale_entries(folder, depth=depth)
    done = []
    for journal in [e for e in entries if e.name.endswith(JOURNAL_SUFFIX)]:
        finals = finish_renames(journal)
        done.extend(f"{final} (rename finished)" for final in finals)
    for entry in entries:
        if entry.name.endswith(JOURNAL_SUFFIX) or not os.path.lexists(entry):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        done.append(str(entry))
    if done and report:
        print(f"removed {len(done)} leftover(s) of interrupted dream-keras processes: {', '.join(done)}",
              flush=True)
    return done


__all__ = ["TEMPORARY_NAME", "process_alive", "remove_stale_temporaries", "stale_entries"]
