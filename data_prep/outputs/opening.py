"""The one entry point every command calls to open its output: :func:`open_output`.

An output is either a folder the command owns (a training run, a pipeline, ``--fold all``, an
evaluation or footprints folder) or files in a folder of the user's (a bigWig, a prediction pair,
a table). Opening it, in this order:

1. the place is checked before any work: nothing above it is a regular file, its folder can be
   written (:func:`~data_prep.outputs.write_failures.check_output_location`);
2. the output is locked for the whole command (:mod:`data_prep.outputs.lock`): a second command
   naming it stops at once, naming the process that holds it;
3. what killed dream-keras processes left there is cleared: interrupted ``--overwrite`` swaps
   finished (:mod:`data_prep.outputs.swap`), paired renames completed and temporaries of dead
   processes removed (:mod:`data_prep.outputs.temporaries`);
4. a folder: refused when it is not empty, unless ``--resume`` (it must hold what the command
   resumes) or ``--overwrite`` (everything in it must be owned by its manifest; the new output is
   built in a staging folder and swapped in when finished); files: refused when they exist,
   unless ``--overwrite``;
5. a folder's manifest is recorded from its first file (:mod:`data_prep.outputs.manifest`) and
   marked complete when the command succeeds.

An output opened inside one this process has open already (a pipeline's stage, a fold of ``--fold
all``) is covered by the outer lock and clean-up; ``--overwrite`` there deletes the files its own
manifest owns, in place. On a multi-worker cluster a worker that is not the chief writes into a
scratch folder, deleted at the end (``chief=False``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import shutil
import tempfile
from typing import Iterator, Sequence

from data_prep.errors import InputError
from data_prep.outputs import manifest
from data_prep.outputs.lock import output_lock
from data_prep.outputs.swap import recover_swaps, staged_output
from data_prep.outputs.temporaries import remove_stale_temporaries
from data_prep.outputs.write_failures import check_output_location

#: how deep a run folder's temporaries can lie (OUT/fold_N/logs/checkpoint/.tmp-...)
RUN_FOLDER_DEPTH = 4


@dataclasses.dataclass
class OpenedOutput:
    """An output opened by :func:`open_output`.

    Attributes:
        final: the output as the user named it (absolute): a folder, or the first of the files.
        path: where this process writes it now: ``final``, a staging folder beside it (``--overwrite``),
            or a scratch folder (a worker that is not the chief).
        files: the files of a file output (``[]`` for a folder).
        resumed: whether the folder holds an earlier run that this command continues.
        replacing: whether the folder replaces an earlier one when the command succeeds.
    """

    final: pathlib.Path
    path: pathlib.Path
    files: list = dataclasses.field(default_factory=list)
    resumed: bool = False
    replacing: bool = False

    def make(self) -> pathlib.Path:
        """Create the folder (when it does not exist) and record its manifest from now on; returns ``path``."""
        self.path.mkdir(parents=True, exist_ok=True)
        manifest.start_recording(self.path, resume=self.resumed)
        return self.path

    def final_path(self, path: str | os.PathLike) -> pathlib.Path:
        """Where ``path`` (inside :attr:`path`) will be once the command has finished."""
        path = pathlib.Path(path)
        return self.final / path.relative_to(self.path) if path.is_relative_to(self.path) else path

    def relocated(self, text: str) -> str:
        """``text`` with :attr:`path` replaced by :attr:`final` (for printed summaries)."""
        return text.replace(str(self.path), str(self.final)) if self.path != self.final else text


#: the folder outputs this process has open, innermost last
_open_folders: list[OpenedOutput] = []


def _enclosing(path: pathlib.Path) -> OpenedOutput | None:
    for opened in reversed(_open_folders):
        if path.is_relative_to(opened.path):
            return opened
    return None


def _clean(folder: pathlib.Path) -> None:
    """Finish interrupted swaps and remove dead processes' temporaries in ``folder``.

    Finish interrupted swaps and remove dead processes' temporaries in ``folder`` (and, in a dream-keras output folder,
    below it).
    """
    if not folder.is_dir():
        return
    recover_swaps(folder)
    depth = RUN_FOLDER_DEPTH if (folder / str(manifest.MANIFEST)).is_file() else 0
    remove_stale_temporaries(folder, depth=depth)


def _refuse_non_empty(path: pathlib.Path, held: list[str], option: str) -> None:
    raise InputError(f"output folder {path} is not empty (it holds {', '.join(held[:5])}"
                     f"{', ...' if len(held) > 5 else ''}"
                     f"); pass --overwrite to replace it, --resume to continue an interrupted run, or choose "
                     f"another {option}")


def _check_resumable(path: pathlib.Path, resume_needs: Sequence[str]) -> None:
    if resume_needs and not any((path / need).exists() for need in resume_needs):
        raise InputError(f"nothing to resume in {path}: it holds none of {', '.join(resume_needs)}; start the "
                         "command without --resume")


@contextlib.contextmanager
def _nested_folder(path: pathlib.Path, outer: OpenedOutput, *, overwrite: bool, resume: bool,
                   option: str) -> Iterator[OpenedOutput]:
    """A folder inside an output this process has open: no lock or staging of its own.

    ``overwrite`` empties it of what the outer output's manifest owns there.
    """
    held = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    if held and not resume:
        if not overwrite:
            _refuse_non_empty(path, held, option)
        manifest.clear_below(outer.path, path)
    yield OpenedOutput(path, path, resumed=resume and bool(held))


@contextlib.contextmanager
def _scratch_folder(final: pathlib.Path) -> Iterator[OpenedOutput]:
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="dream_keras_worker_"))
    try:
        yield OpenedOutput(final, scratch / "run")
    finally:
        manifest.stop_recordings(scratch)
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _open_folder(target, *, overwrite: bool, resume: bool, chief: bool, option: str,
                 resume_needs: Sequence[str]) -> Iterator[OpenedOutput]:
    final = check_output_location(target, folder=True, option=option)
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other: resume continues the run in the folder, "
                         "overwrite replaces it")
    if not chief:
        with _scratch_folder(final) as opened:
            yield opened
        return
    outer = _enclosing(final)
    if outer is not None:
        with _nested_folder(final, outer, overwrite=overwrite, resume=resume, option=option) as opened:
            yield opened
        return
    with output_lock(final):
        _clean(final.parent)
        _clean(final)
        held = sorted(p.name for p in final.iterdir()) if final.is_dir() else []
        if resume:
            if not held:
                raise InputError(f"nothing to resume in {final}: it is empty or missing; start the command "
                                 "without --resume")
            _check_resumable(final, resume_needs)
        elif held and not overwrite:
            _refuse_non_empty(final, held, option)
        with staged_output(final, overwrite=overwrite and bool(held), resume=resume) as path:
            opened = OpenedOutput(final, path, resumed=resume, replacing=path != final)
            _open_folders.append(opened)
            try:
                yield opened
            finally:
                _open_folders.remove(opened)


@contextlib.contextmanager
def _open_files(targets, *, overwrite: bool, option: str) -> Iterator[OpenedOutput]:
    paths = [check_output_location(p, folder=False, option=option) for p in
             ([targets] if isinstance(targets, (str, os.PathLike)) else targets)]
    if not paths:
        raise InputError(f"no output file named; give {option}")
    with contextlib.ExitStack() as stack:
        for path in paths:
            if _enclosing(path) is None:
                stack.enter_context(output_lock(path))
        for folder in dict.fromkeys(path.parent for path in paths):
            if _enclosing(folder) is None and folder.is_dir():
                remove_stale_temporaries(folder)
        existing = [str(p) for p in paths if os.path.lexists(p)]
        if existing and not overwrite:
            raise InputError(f"{' and '.join(existing)} {'exists' if len(existing) == 1 else 'exist'}; pass "
                             f"--overwrite to replace {'it' if len(existing) == 1 else 'them'} or choose another "
                             f"{option}")
        yield OpenedOutput(paths[0], paths[0], files=paths)


@contextlib.contextmanager
def open_output(target, *, kind: str = "folder", overwrite: bool = False, resume: bool = False,
                chief: bool = True, option: str = "--out", resume_needs: Sequence[str] = ()) -> Iterator[OpenedOutput]:
    """Open a command's output for the whole command (see the module docstring).

    Args:
        target: the folder (``kind="folder"``), or the file or files (``kind="files"``), as the user named them.
        kind: ``"folder"`` (the command owns it) or ``"files"`` (files in the user's folder).
        overwrite: replace what is there (a folder: only once the new one is finished).
        resume: continue the run in the folder (``kind="folder"`` only).
        chief: ``False`` on a multi-worker cluster's other workers: they write a scratch folder.
        option: the command-line option that named the output, for messages.
        resume_needs: with ``resume``, paths inside the folder of which one must exist (e.g.
            ``logs/run.json``), else there is nothing to resume.

    Yields:
        :class:`OpenedOutput`; a folder is created by :meth:`OpenedOutput.make` (or
        :meth:`data_prep.outputs.RunFolder.create`), only once the command is sure to write it.

    Raises:
        InputError: the place cannot be written, the output is in use by another process, a
            folder is not empty (without ``--overwrite``/``--resume``) or holds what dream-keras did
            not write, a file exists (without ``--overwrite``), or there is nothing to resume.
    """
    if kind == "folder":
        with _open_folder(target, overwrite=overwrite, resume=resume, chief=chief, option=option,
                          resume_needs=resume_needs) as opened:
            yield opened
    elif kind == "files":
        if resume:
            raise InputError("--resume continues a run folder; file outputs are written anew")
        with _open_files(target, overwrite=overwrite, option=option) as opened:
            yield opened
    else:
        raise ValueError(f"kind must be 'folder' or 'files', not {kind!r}")


__all__ = ["OpenedOutput", "open_output"]
