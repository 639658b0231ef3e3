"""Plain or gzip text read in large blocks that end at line ends, with line numbers.

Large blocks let the parsers work on whole arrays; the line number of each block's first line lets
every error name its line. A gzip stream that stops early (a truncated download) is reported with the
last line read, never taken for the end of the data; a bgzip file (BGZF, as 10x Cell Ranger writes its
fragments) must also end with the BGZF end-of-file block, which a copy cut between two blocks lacks.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import zlib
from typing import Callable, Iterator

from data_prep.errors import InputError

BLOCK_BYTES = 4 << 20  # 4 MB: pandas holds several copies of a block; larger blocks are no faster
GZIP_MAGIC = b"\x1f\x8b"
BAM_MAGIC = b"BAM\x01"
# The empty BGZF block that ends every complete BGZF file (SAM/BAM specification, section 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def is_gzip(path: str | os.PathLike) -> bool:
    """True when the file starts with the gzip magic bytes (plain gzip or BGZF)."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def bgzf_lacks_eof(path: str | os.PathLike) -> bool:
    """True when ``path`` is BGZF but does not end with the BGZF end-of-file block.

    BGZF is gzip with the ``BC`` extra field. Such a file is a copy cut short between two blocks, which gzip
    itself reads as complete.
    """
    with open(path, "rb") as handle:
        header = handle.read(16)
        if header[:4] != b"\x1f\x8b\x08\x04" or header[12:14] != b"BC":
            return False
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - len(BGZF_EOF)))
        return handle.read() != BGZF_EOF


def text_blocks(path: str | os.PathLike, what: str, block_bytes: int = BLOCK_BYTES,
                on_read: Callable[[int], None] | None = None) -> Iterator[tuple[int, bytes]]:
    r"""Yield ``(first_line_number, block)`` over a text file; each block holds whole lines.

    Args:
        path: plain or gzip-compressed text file.
        what: the option or format name for messages (e.g. ``"--tagalign"``).
        block_bytes: bytes read at a time (the last line of a block is completed from the next read).
        on_read: called after each read with the bytes of the file (compressed bytes for gzip) consumed
            so far, for a progress bar.

    Yields:
        The 1-based number of the block's first line and the block's bytes (ending in ``\n`` except
        perhaps the file's last block).

    Raises:
        InputError: the file is missing, is a BAM file, or its gzip stream is truncated or corrupt.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"{what} file {path} does not exist")
    compressed = is_gzip(path)
    if compressed and bgzf_lacks_eof(path):
        raise InputError(f"{path} is a bgzip file without its end-of-file block: the file is truncated (an "
                         "interrupted copy or download); copy or download it again")
    opener = gzip.open if compressed else open
    line = 1
    carry = b""
    with opener(path, "rb") as handle:
        raw = handle.fileobj if compressed else handle
        first = True
        while True:
            try:
                data = handle.read(block_bytes)
            except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as error:
                last = line - 1 + carry.count(b"\n")
                raise InputError(f"{path}: the compressed data stops or is corrupt after line {last} ({error}); "
                                 "the file is truncated or damaged: copy or download it again") from error
            if on_read is not None:
                on_read(raw.tell())
            if first:
                first = False
                if data.startswith(BAM_MAGIC):
                    raise InputError(f"{path} is a BAM file, not {what} text; pass it with --bam")
            if not data:
                if carry:
                    yield line, carry
                return
            data = carry + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            yield line, block
            line += block.count(b"\n")


def first_data_line(path: str | os.PathLike, what: str, skipped: tuple = (b"#", b"track", b"browser")) -> str:
    """The first line of a text file that is not blank or a header (``""`` when there is none), for messages."""
    for _, block in text_blocks(path, what):
        for raw in block.split(b"\n"):
            text = raw.rstrip(b"\r")
            if text.strip() and not text.startswith(skipped):
                return text[:120].decode("utf-8", "replace")
    return ""
