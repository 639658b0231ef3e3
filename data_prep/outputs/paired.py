"""Outputs that belong together (a prediction's bigWig and HDF5) become visible together or not at all.

Two renames cannot be one atomic step, so the commit is journalled: each output is written under
its temporary name (:func:`data_prep.outputs.atomic.temporary_name`, one token for the set) and
checked whole (:func:`data_prep.outputs.atomic.finish_write`'s check), then a journal
listing ``temporary -> final`` is written atomically (the commit point), then the renames run and
the journal is deleted. The guarantee:

* killed before the journal exists: every final name still holds the old file (or nothing); the
  temporaries are removed by :func:`data_prep.outputs.temporaries.remove_stale_temporaries`;
* killed after: the journal survives, and the next command writing into that folder (the same
  cleanup) finishes the renames before it does anything else, so the set is all new. Until then
  the folder may hold the new file of one name beside the old file of the other; the journal
  (``.tmp-<pid>-<token>-<name>.journal``) says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import uuid
from typing import Iterator

from data_prep.outputs.atomic import TEMPORARY_NAME, announce_write, finish_write, temporary_name

JOURNAL_SUFFIX = ".journal"


@contextlib.contextmanager
def paired_paths(finals: list[str | os.PathLike]) -> Iterator[list[pathlib.Path]]:
    """Yield one temporary path per final path (not created); on success commit them together.

    Args:
        finals: the final paths (any folders; each is created).

    Yields:
        the temporary paths, in the order of ``finals``; the block writes each.
    """
    finals = [pathlib.Path(f) for f in finals]
    token = uuid.uuid4().hex[:8]
    temporaries = [temporary_name(final, token) for final in finals]
    for final in finals:
        final.parent.mkdir(parents=True, exist_ok=True)
    journal = temporary_name(finals[0].with_name(finals[0].name + JOURNAL_SUFFIX), token)
    try:
        yield temporaries
        missing = [str(t) for t in temporaries if not t.exists()]
        if missing:
            raise RuntimeError(f"paired outputs not written: {', '.join(missing)}")
        for temporary, final in zip(temporaries, finals):
            finish_write(temporary, final, rename=False)  # each whole, before any is renamed
        pairs = [[str(t.absolute()), str(f.absolute())] for t, f in zip(temporaries, finals)]
        staged = journal.with_name(journal.name + ".part")
        staged.write_text(json.dumps({"renames": pairs}))
        os.replace(staged, journal)  # the commit point
        finish_renames(journal)
    finally:
        if not journal.exists():  # not committed: the old files stay, the new ones go
            for tmp in [*temporaries, journal.with_name(journal.name + ".part")]:
                if tmp.exists():
                    tmp.unlink()


def _checked_rename(temporary: str, final: str, journal: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """``(temporary, final)`` of a journal line, checked.

    ``(temporary, final)`` of a journal line, refused unless ``temporary`` is a tool temporary name whose final name is
    ``final`` in the same folder (so a journal can only commit a write, never move any other file).
    """
    temporary_path, final_path = pathlib.Path(temporary), pathlib.Path(final)
    match = TEMPORARY_NAME.match(temporary_path.name)
    if not match or match.group(3) != final_path.name or temporary_path.parent != final_path.parent:
        raise ValueError(f"journal {journal} lists the rename {temporary} -> {final}, which is not the commit of a "
                         "dream-keras write; nothing was renamed (delete the journal by hand)")
    return temporary_path, final_path


def finish_renames(journal: pathlib.Path) -> list[str]:
    """Do the renames a journal lists whose temporary still exists, then delete the journal.

    Returns the final paths renamed now (a rename done before a kill is not repeated).

    Raises:
        ValueError: the journal lists a rename that is not a write's commit (nothing is renamed).
    """
    renames = [_checked_rename(tmp, final, journal) for tmp, final in json.loads(journal.read_text())["renames"]]
    done = []
    for temporary, final in renames:
        if os.path.lexists(temporary):
            announce_write(final, renamed=False)
            os.replace(temporary, final)
            announce_write(final, renamed=True)
            done.append(str(final))
    journal.unlink()
    return done


__all__ = ["JOURNAL_SUFFIX", "finish_renames", "paired_paths"]
