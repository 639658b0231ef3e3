"""Every path the tool deletes or moves lies inside the folder it owns: checked here, at the moment it acts.

A manifest is a file in the user's folder, so anything may be written into it: ``../thesis.tex``,
``/home/me/data``, or ``models/x`` where ``models`` is a symbolic link to another disk. Before a path
taken from a manifest (or built from one) is deleted, :func:`inside` checks that it is a plain relative
path (no ``..``, not absolute, no empty or ``.`` parts) and that, with every symbolic link of its
folders resolved, it is still below the owned folder. The file itself is never followed: a symbolic
link is removed as a link (:func:`delete_file`), never what it points to.
"""

from __future__ import annotations

import os
import pathlib

from data_prep.errors import InputError


class OutsideFolder(InputError):
    """A path the tool was about to delete or move lies outside the folder it owns (nothing was touched)."""


def plain_relative(entry: str) -> bool:
    """Whether ``entry`` is a plain relative POSIX path: no ``..``, ``.`` or empty parts, not absolute."""
    if not isinstance(entry, str) or not entry or entry.startswith("/") or "\\" in entry or "\x00" in entry:
        return False
    return all(part not in ("", ".", "..") for part in entry.split("/"))


def inside(root: str | os.PathLike, entry: str, *, source: str = "the manifest") -> pathlib.Path:
    """The path of ``entry`` under ``root``, checked to lie inside it (see the module docstring).

    Args:
        root: the owned folder.
        entry: a relative POSIX path, e.g. from a manifest.
        source: where ``entry`` came from, for the message.

    Returns:
        ``root / entry`` (its own last part not resolved).

    Raises:
        OutsideFolder: ``entry`` is not plain, or a symbolic link among its folders leads out of ``root``.
    """
    root = pathlib.Path(os.path.abspath(root))
    if not plain_relative(entry):
        raise OutsideFolder(f"{source} of {root} lists {entry!r}, which is not a plain path inside the folder; "
                            "dream-keras deletes nothing there. Fix: remove that line from the manifest (or delete "
                            "the folder by hand)")
    path = root / entry
    real_root = os.path.realpath(root)
    real_parent = os.path.realpath(path.parent)
    if os.path.commonpath([real_root, real_parent]) != real_root:
        raise OutsideFolder(f"{source} of {root} lists {entry!r}, which leads out of the folder (to {real_parent} "
                            "through a symbolic link); dream-keras deletes nothing there. Fix: remove the link or "
                            "that line, or delete the folder by hand")
    return path


def check_within(root: str | os.PathLike, path: str | os.PathLike) -> pathlib.Path:
    """``path``, checked to lie inside ``root``.

    ``path`` (absolute or relative to the working folder), checked to lie inside ``root`` with its folders' symbolic
    links resolved; raises :class:`OutsideFolder` otherwise.
    """
    root = pathlib.Path(os.path.abspath(root))
    path = pathlib.Path(os.path.abspath(path))
    try:
        relative = path.relative_to(root)
    except ValueError:
        raise OutsideFolder(f"{path} is not inside {root}; dream-keras deletes nothing outside the folder it "
                            "writes") from None
    return path if relative == pathlib.Path(".") else inside(root, relative.as_posix(), source="the path")


def delete_file(root: str | os.PathLike, path: str | os.PathLike) -> None:
    """Delete the file (or symbolic link, as a link) ``path`` after checking it lies inside ``root``."""
    path = check_within(root, path)
    if path.is_dir() and not path.is_symlink():
        raise IsADirectoryError(f"{path} is a folder; only files are deleted one by one")
    path.unlink()


def remove_empty_folder(root: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Remove the folder ``path`` inside ``root`` (``root`` itself included) when it is empty.

    Returns whether it was removed. A symbolic link to a folder is never taken for a folder.
    """
    root_path = pathlib.Path(os.path.abspath(root))
    path = pathlib.Path(os.path.abspath(path))
    if path != root_path:
        path = check_within(root_path, path)
    if path.is_symlink() or not path.is_dir() or any(path.iterdir()):
        return False
    path.rmdir()
    return True


__all__ = ["OutsideFolder", "check_within", "delete_file", "inside", "plain_relative", "remove_empty_folder"]
