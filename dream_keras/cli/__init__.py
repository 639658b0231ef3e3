"""The ``dream-keras`` command line: one entry point, one module per subcommand.

Each module listed in ``COMMAND_MODULES`` defines ``add_parser(subparsers)``, which adds its
subcommand and sets ``func`` (called with the parsed arguments; returns the exit status).
Nothing here imports TensorFlow or Keras at module level: ``--help`` and the Keras-free commands
(``KERAS_FREE_COMMANDS``) answer at once; the others import the backend, quietly, when they run,
after the input files they name have been found (:func:`check_input_files`), so that a mistyped
path is reported at once. Each command opens its output with :func:`data_prep.outputs.open_output`.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import sys

COMMAND_MODULES = [
    "prep",
    "bias",
    "train",
    "evaluate",
    "predict",
    "export",
    "import_chrombpnet",
    "interpret",
    "motifs",
    "variants",
    "pipeline",
    "quickstart",
    "demo_data",
]

#: commands that run without Keras (data preparation, motif discovery): no backend import before they run
KERAS_FREE_COMMANDS = {"prep", "motifs"}


def build_parser() -> argparse.ArgumentParser:
    """The ``dream-keras`` parser with every command's subparser (imports no TensorFlow)."""
    from dream_keras import __version__

    parser = argparse.ArgumentParser(
        prog="dream-keras",
        description="Train, evaluate, interpret and export sequence-to-function models "
                    "(DREAM-CNN, DREAM-RNN, DeepSTARR, MPRAnn, ChromBPNet).")
    parser.add_argument("--version", action="version", version=f"dream-keras {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"dream_keras.cli.{name}").add_parser(sub)
    return parser


#: options that name input files (or, ``run`` and ``fold_dir``, folders) in every command that has them
#: (``--valid`` is a table in ``train`` but chromosome names in ``prep splits``: checked where it is read)
INPUT_OPTIONS = ("genome", "bigwig", "peaks", "nonpeaks", "bias_model", "regions", "bam", "fragments", "tagalign",
                 "chrom_sizes", "blacklist", "vcf", "data", "config", "model", "models", "run", "fold_dir",
                 "contribs", "samples", "cell_groups")


def check_input_files(args: argparse.Namespace) -> None:
    """Stop at once, before the backend loads, when an input file or folder the options name is missing."""
    from data_prep.errors import InputError

    for name in INPUT_OPTIONS:
        value = getattr(args, name, None)
        for path in value if isinstance(value, list) else [value]:
            if isinstance(path, str) and path and not pathlib.Path(path).expanduser().exists():
                given = "given as MODEL.keras" if name == "models" else f"given to --{name.replace('_', '-')}"
                raise InputError(f"{path} does not exist ({given}). Fix: check the path (the working folder is "
                                 f"{pathlib.Path.cwd()})")


#: set when a command stopped because an output could not be written (see :func:`console`)
_write_failed = False


def _as_write_failure(error: BaseException):
    """A failed write that reached here unwrapped, as an output write error.

    A failed write that reached here without passing through an atomic write (a file Keras appends to, a library's own
    file) as :class:`~data_prep.outputs.OutputWriteError`, else ``None``.
    """
    from data_prep.outputs.write_failures import as_write_error, write_errno

    if write_errno(error) is None:
        return None
    return as_write_error(error, getattr(error, "filename", None) or "an output file")


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (2 for a mistake in the inputs, with one message)."""
    global _write_failed
    from data_prep.errors import InputError
    from data_prep.outputs import OutputWriteError

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # no command: the list of commands
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    try:
        check_input_files(args)
        if args.command not in KERAS_FREE_COMMANDS:
            from dream_keras.startup import import_backend_quietly

            import_backend_quietly()  # TensorFlow's C++ start-up lines stay off the terminal
        from dream_keras.console import plain_warnings, retracing_notices_dropped
        from dream_keras.registry import IncompatibleHeadError

        try:
            # the program's messages in plain words, once: a warning is one line, TensorFlow's
            # retracing notices (models called on batches of several sizes, on purpose) are dropped
            with plain_warnings(), retracing_notices_dropped():
                status = args.func(args)
        except IncompatibleHeadError as err:
            raise InputError(str(err)) from None
    except Exception as err:  # noqa: BLE001 - sorted below: the user's mistakes get one message, bugs a traceback
        failed_write = err if isinstance(err, OutputWriteError) else _as_write_failure(err)
        if failed_write is None and not isinstance(err, (InputError, FileNotFoundError, FileExistsError)):
            raise
        _write_failed = failed_write is not None
        # Mistakes in the user's inputs, and outputs that cannot be written: one clear message, no traceback.
        print(f"dream-keras {args.command}: error: {failed_write or err}", file=sys.stderr)
        return 2
    return int(status or 0)


def console() -> None:
    """The ``dream-keras`` program: :func:`main`, then exit with its status.

    After a failed write the process leaves at once (``os._exit``): a C library that could not flush
    a file (HDF5 after a full disk) may crash while Python shuts down, which would turn the one clear
    message into a segmentation fault.
    """
    status = main()
    if _write_failed:
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    console()
