"""``dream-keras quickstart``: the whole ATAC chain on the bundled real data."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("quickstart", help="run the whole chain on bundled real data (fold 0)")
    p.add_argument("--out", default="quickstart_out", help="output folder (default: quickstart_out)")
    p.set_defaults(func=run)


def run(args) -> int:
    print("dream-keras quickstart: not yet available (the fold-training issue builds it).")
    return 0
