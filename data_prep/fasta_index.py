"""A FASTA's ``.fai`` index checked against the FASTA before it is trusted.

pyfaidx reads bases at the byte offsets the index gives. An index left from a longer or different
FASTA (a file cut short, replaced, or copied with its old ``.fai``) points past the end or into
the wrong lines, and reads fail deep inside NumPy. :func:`check_fasta_index` compares every
record with the file: each sequence must end inside the file and before the next one starts, and
after the last sequence only line breaks may follow.
"""

from __future__ import annotations

import os
import pathlib

from data_prep.errors import InputError


def sequence_end(offset: int, length: int, line_bases: int, line_bytes: int) -> int:
    """Byte offset just after a sequence's last base, from its ``.fai`` record."""
    if length == 0:
        return offset
    full_lines, rest = divmod(length, line_bases)
    if rest == 0:
        return offset + (full_lines - 1) * line_bytes + line_bases
    return offset + full_lines * line_bytes + rest


def check_fasta_index(fasta: str | os.PathLike, index: str | os.PathLike | None = None) -> None:
    """Raise :class:`InputError` naming both files when ``index`` does not describe ``fasta``.

    Args:
        fasta: an uncompressed FASTA file (bgzip-compressed ones are not checked: the index
            offsets are of the uncompressed text).
        index: its ``.fai`` (default ``fasta + ".fai"``); a missing index is fine.
    """
    fasta = pathlib.Path(fasta)
    index = pathlib.Path(index) if index is not None else pathlib.Path(str(fasta) + ".fai")
    if not index.is_file() or fasta.suffix in (".gz", ".bgz", ".bgzf"):
        return
    size = fasta.stat().st_size
    fix = (f"the index {index} does not match the FASTA {fasta} (it was made for another version of the file): "
           f"delete {index} (it is rebuilt on the next run)")
    previous_end, last_end = 0, 0
    with open(index) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            try:
                name, (length, offset, line_bases, line_bytes) = fields[0], map(int, fields[1:5])
            except ValueError:
                raise InputError(f"{index} line {number} is not a FASTA index record (name, length, offset, "
                                 f"line bases, line bytes); {fix}") from None
            end = sequence_end(offset, length, max(line_bases, 1), line_bytes)
            if offset < previous_end or end > size:
                raise InputError(f"{fix}. Sequence {name} (line {number}) ends at byte {end:,} but {fasta} holds "
                                 f"{size:,} bytes" if end > size else
                                 f"{fix}. Sequence {name} (line {number}) starts before the previous one ends")
            previous_end = last_end = end
    if size - last_end > 0:
        with open(fasta, "rb") as handle:
            handle.seek(last_end)
            tail = handle.read(min(size - last_end, 4096))
        if tail.strip() or size - last_end > 4096:
            raise InputError(f"{fix}. {fasta} holds {size - last_end:,} more bytes after the last indexed sequence")


__all__ = ["check_fasta_index", "sequence_end"]
