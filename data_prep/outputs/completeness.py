"""Is a freshly written file whole? Checked before it is renamed to its final name.

A writer that meets a full disk or a file-size limit does not always say so: libBigWig goes on
writing a truncated file, HDF5 may report the failure only when the file is closed. So before
:func:`data_prep.outputs.atomic.atomic_path` renames a temporary file into place, the file is
flushed to the disk (``fsync``, which reports a failed delayed write) and, for the formats the tool
writes, read back as far as needed to know that its writer finished it:

- bigWig: begins and ends with the bigWig magic number (libBigWig writes the closing one last), and
  every section the header points to lies inside the file;
- HDF5: opens (HDF5 compares the end of file recorded in its superblock with the real size) and
  every dataset's header reads;
- ``.keras`` / ``.zip``: every member's CRC checks (the central directory is written last);
- PNG: ends with the ``IEND`` chunk; JSON: parses.

Other files (tables, text) are complete when their writer returned without an error and the
``fsync`` succeeded. A folder (a SavedModel) is checked file by file.
"""

from __future__ import annotations

import json
import os
import pathlib
import struct
import zipfile

BIGWIG_MAGIC = 0x888FFC26
_PNG_END = b"IEND\xaeB`\x82"


class IncompleteFile(Exception):
    """The file on disk is not what its writer would have finished (cut short, unreadable)."""


def _check_bigwig(path: pathlib.Path) -> None:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(64)
        if len(header) < 64:
            raise IncompleteFile(f"{size} bytes, shorter than a bigWig header")
        for order in ("<", ">"):
            if struct.unpack(order + "I", header[:4])[0] == BIGWIG_MAGIC:
                break
        else:
            raise IncompleteFile("no bigWig magic number at its start")
        # header: magic, version (H), zoom levels (H), chromTreeOffset, fullDataOffset, fullIndexOffset (Q each)
        offsets = struct.unpack(order + "QQQ", header[8:32])
        if any(offset >= size for offset in offsets):
            raise IncompleteFile(f"its header points past its end ({size} bytes)")
        handle.seek(-4, os.SEEK_END)
        if struct.unpack(order + "I", handle.read(4))[0] != BIGWIG_MAGIC:
            raise IncompleteFile("the closing bigWig magic number is missing (the file was cut short)")


def _check_hdf5(path: pathlib.Path) -> None:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            handle.visititems(lambda name, item: item.shape if isinstance(item, h5py.Dataset) else None)
    except (OSError, KeyError, RuntimeError) as error:
        raise IncompleteFile(f"HDF5 cannot read it back ({error})") from None


def _check_zip(path: pathlib.Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise IncompleteFile(f"not a whole zip archive ({error})") from None
    if broken is not None:
        raise IncompleteFile(f"member {broken} is damaged")


def _check_png(path: pathlib.Path) -> None:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 8))
        if handle.read(8) != _PNG_END:
            raise IncompleteFile("the PNG end chunk is missing (the file was cut short)")


def _check_json(path: pathlib.Path) -> None:
    try:
        json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise IncompleteFile(f"not whole JSON ({error})") from None


_CHECKS = {".bw": _check_bigwig, ".bigwig": _check_bigwig, ".h5": _check_hdf5, ".hdf5": _check_hdf5,
           ".keras": _check_zip, ".zip": _check_zip, ".png": _check_png, ".json": _check_json}


def _fsync(path: pathlib.Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def check_complete(path: str | os.PathLike, final_name: str | None = None) -> None:
    """Flush ``path`` to disk and check that its writer finished it (see the module docstring).

    Args:
        path: the temporary file or folder just written.
        final_name: the name it will get (its suffix chooses the check); default ``path``'s own.

    Raises:
        IncompleteFile: the file is cut short or unreadable; the message says how.
        OSError: flushing failed (e.g. ``ENOSPC`` on a delayed write).
    """
    path = pathlib.Path(path)
    if path.is_dir():
        for inner in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
            check_complete(inner)
        return
    if not path.exists():
        raise IncompleteFile("its writer returned without creating it")
    _fsync(path)
    suffix = pathlib.PurePath(final_name or path.name).suffix.lower()
    check = _CHECKS.get(suffix)
    if check is not None:
        check(path)


__all__ = ["BIGWIG_MAGIC", "IncompleteFile", "check_complete"]
