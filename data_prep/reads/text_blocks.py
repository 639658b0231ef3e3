"""Plain or gzip text read in large blocks that end at line ends, with line numbers.

Large blocks let the parsers work on whole arrays; the line number of each block's first line lets
every error name its line. A gzip stream that stops early (a truncated download) is reported with the
last line read, never taken for the end of the data.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import zlib
from typing import Iterator

from data_prep.errors import InputError

BLOCK_BYTES = 4 << 20  # 4 MB: pandas holds several copies of a block; larger blocks are no faster
GZIP_MAGIC = b"\x1f\x8b"
BAM_MAGIC = b"BAM\x01"


def is_gzip(path: str | os.PathLike) -> bool:
    """True when the file starts with the gzip magic bytes (plain gzip or BGZF)."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def text_blocks(path: str | os.PathLike, what: str, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    r"""Yield ``(first_line_number, block)`` over a text file; each block holds whole lines.

    Args:
        path: plain or gzip-compressed text file.
        what: the option or format name for messages (e.g. ``"--tagalign"``).
        block_bytes: bytes read at a time (the last line of a block is completed from the next read).

    Yields:
        The 1-based number of the block's first line and the block's bytes (ending in ``\n`` except
        perhaps the file's last block).

    Raises:
        InputError: the file is missing, is a BAM file, or its gzip stream is truncated or corrupt.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"{what} file {path} does not exist")
    opener = gzip.open if is_gzip(path) else open
    line = 1
    carry = b""
    with opener(path, "rb") as handle:
        first = True
        while True:
            try:
                data = handle.read(block_bytes)
            except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as error:
                last = line - 1 + carry.count(b"\n")
                raise InputError(f"{path}: the compressed data stops or is corrupt after line {last} ({error}); "
                                 "the file is truncated or damaged: copy or download it again") from error
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
