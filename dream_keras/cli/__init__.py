"""The ``dream-keras`` command line: one entry point, one module per subcommand.

Each module listed in ``COMMAND_MODULES`` defines ``add_parser(subparsers)``, which adds its
subcommand and sets ``func`` (called with the parsed arguments; returns the exit status).
Nothing here imports TensorFlow or Keras at module level: ``--help`` and the Keras-free commands
(``KERAS_FREE_COMMANDS``) answer at once; the others import the backend, quietly, when they run.
"""

from __future__ import annotations

import argparse
import importlib
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
    "variants",
    "pipeline",
    "quickstart",
    "demo_data",
]

#: commands that run without Keras (data preparation only): no backend import before they run
KERAS_FREE_COMMANDS = {"prep"}


def build_parser() -> argparse.ArgumentParser:
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


def main(argv: list[str] | None = None) -> int:
    from data_prep.errors import InputError
    from dream_keras.registry import IncompatibleHeadError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in KERAS_FREE_COMMANDS:
        from dream_keras.startup import import_backend_quietly

        import_backend_quietly()  # TensorFlow's C++ start-up lines stay off the terminal
    try:
        from dream_keras.cli.output_cleanup import clean_output_folders

        clean_output_folders(args)  # what killed runs left where this command writes
        status = args.func(args)
    except (InputError, IncompatibleHeadError, FileNotFoundError, FileExistsError) as err:
        # Mistakes in the user's inputs: one clear message, no traceback.
        print(f"dream-keras {args.command}: error: {err}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
