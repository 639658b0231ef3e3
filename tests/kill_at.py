"""Run Python code or the dream-keras program, killed with SIGKILL at a chosen file event, as ``kill -9`` would.

    python tests/kill_at.py EVENT -c CODE [ARG ...]
    python tests/kill_at.py EVENT -m dream_keras.cli [ARG ...]

The tool has no test hook of its own: this wrapper replaces ``os.replace`` and ``os.rename`` (which every
write and swap of :mod:`data_prep.outputs` calls through the ``os`` module) with versions that kill the
process at the event. EVENT is one of:

- ``before-rename:NAME`` / ``after-rename:NAME``: around the rename of a file or folder called NAME into
  place (``:N`` at the end: the N-th such rename);
- ``after-move-aside``: ``--overwrite``'s swap, after the old folder was moved aside;
- ``after-swap``: after the new folder was renamed in, before the old one's files were deleted;
- ``after-journal``: after the journal of paired outputs was committed;
- ``between-paired-renames``: after the first rename that a committed journal lists.
"""

from __future__ import annotations

import os
import re
import runpy
import signal
import sys

TEMPORARY = re.compile(r"^\.tmp-\d+-[0-9a-f]{8}-")


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(event: str) -> None:
    """Replace ``os.replace`` and ``os.rename`` so that the process dies at ``event``."""
    kind, _, rest = event.partition(":")
    name, _, count = rest.partition(":")
    wanted = int(count or 1)
    seen = {"hits": 0, "journal": False}
    original_replace, original_rename = os.replace, os.rename

    def matches(source, target) -> bool:
        source, target = os.fspath(source), os.fspath(target)
        if kind in ("before-rename", "after-rename"):
            hit = os.path.basename(target) == name and TEMPORARY.match(os.path.basename(source)) is not None
        elif kind == "after-move-aside":
            hit = target.endswith(".replaced")
        elif kind == "after-swap":
            hit = source.endswith(".staging")
        elif kind == "after-journal":
            hit = target.endswith(".journal")
        elif kind == "between-paired-renames":
            hit = seen["journal"] and TEMPORARY.match(os.path.basename(source)) is not None
        else:
            raise SystemExit(f"unknown event {event!r}")
        if target.endswith(".journal"):
            seen["journal"] = True
        if hit:
            seen["hits"] += 1
        return hit and seen["hits"] == wanted

    def wrap(original):
        def moved(source, target, *args, **kwargs):
            hit = matches(source, target)
            if hit and kind == "before-rename":
                _kill()
            result = original(source, target, *args, **kwargs)
            if hit:
                _kill()
            return result
        return moved

    os.replace, os.rename = wrap(original_replace), wrap(original_rename)


def main() -> None:
    event, mode, target, *rest = sys.argv[1:]
    install(event)
    if mode == "-c":
        sys.argv = ["-c", *rest]
        exec(compile(target, "<kill_at>", "exec"), {"__name__": "__main__"})
    elif mode == "-m":
        sys.argv = [target, *rest]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        raise SystemExit("usage: kill_at.py EVENT (-c CODE | -m MODULE) [ARG ...]")


if __name__ == "__main__":
    main()
