"""Outputs that belong together (a prediction's bigWig and HDF5) become visible together or not at all.

Two renames cannot be one atomic step, so the commit is journalled: each output is written under
its temporary name (:func:`data_prep.atomic.temporary_name`, one token for the set), then a journal
listing ``temporary -> final`` is written atomically (the commit point), then the renames run and
the journal is deleted. The guarantee:

* killed before the journal exists: every final name still holds the old file (or nothing); the
  temporaries are removed by :func:`data_prep.stale_temporaries.remove_stale_temporaries`;
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

from data_prep.atomic import kill_point, temporary_name

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
        pairs = [[str(t.resolve()), str(f.resolve())] for t, f in zip(temporaries, finals)]
        staged = journal.with_name(journal.name + ".part")
        staged.write_text(json.dumps({"renames": pairs}))
        os.replace(staged, journal)  # the commit point
        kill_point("after-journal")
        finish_renames(journal)
    finally:
        if not journal.exists():  # not committed: the old files stay, the new ones go
            for tmp in [*temporaries, journal.with_name(journal.name + ".part")]:
                if tmp.exists():
                    tmp.unlink()


def finish_renames(journal: pathlib.Path) -> list[str]:
    """Do the renames a journal lists whose temporary still exists, then delete the journal.

    Returns the final paths renamed now (a rename done before a kill is not repeated).
    """
    renames = json.loads(journal.read_text())["renames"]
    done = []
    for index, (tmp, final) in enumerate(renames):
        if os.path.exists(tmp):
            os.replace(tmp, final)
            done.append(final)
            if index < len(renames) - 1:
                kill_point("between-paired-renames")
    journal.unlink()
    return done


__all__ = ["JOURNAL_SUFFIX", "finish_renames", "paired_paths"]
