"""Command-line options of training runs: explicit flags, ``--config run.json`` and ``--model-option``.

``--config RUN/logs/run.json`` repeats a run: the recorded ``parameters`` become the defaults and
the flags given on the command line still win. To know which flags were given, every parameter
option uses :class:`Explicit` (or :class:`ModelOption`), which records its destination in
``args.explicit_options``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import types
import typing

from data_prep.errors import InputError


def _remember(namespace, dest: str) -> None:
    explicit = set(getattr(namespace, "explicit_options", set()) or set())
    explicit.add(dest)
    namespace.explicit_options = explicit


class Explicit(argparse.Action):
    """Store the value (like ``store``) and remember that the user gave it."""

    def __call__(self, parser, namespace, values, option_string=None):
        """Store the value and remember that the option was given."""
        setattr(namespace, self.dest, values)
        _remember(namespace, self.dest)


class ExplicitFlag(argparse.Action):
    """A switch that remembers that the user gave it.

    A switch (no value; stores ``True``) that remembers that the user gave it, so that a flag left out can still be
    filled from ``--config``.
    """

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        """Store ``True`` and remember that the flag was given."""
        setattr(namespace, self.dest, True)
        _remember(namespace, self.dest)


class ModelOption(argparse.Action):
    """``--model-option KEY=VALUE`` (repeatable) into the dict ``args.model_options``.

    VALUE is read as JSON when it parses (``4``, ``0.5``, ``[32, 64]``, ``true``), else kept as text.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        """Add one ``KEY=VALUE`` to ``model_options``."""
        key, sep, text = values.partition("=")
        if not sep or not key.strip():
            parser.error(f"{option_string} expects KEY=VALUE (e.g. lstm_units=8), got {values!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        options = dict(getattr(namespace, self.dest, None) or {})
        options[key.strip()] = value
        setattr(namespace, self.dest, options)
        _remember(namespace, self.dest)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--out``, ``--overwrite``, ``--resume``, ``--config`` (every training command has them)."""
    parser.add_argument("--out", required=True, help="output run folder (refused when not empty, unless "
                                                      "--overwrite or --resume)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in --out from its last checkpoint (its run.json gives "
                             "the parameters not given as flags)")
    parser.add_argument("--config", metavar="RUN_JSON",
                        help="repeat a run: the 'parameters' of its logs/run.json become the defaults; flags given "
                             "here still win")
    parser.add_argument("--allow-changed-inputs", action="store_true",
                        help="with --resume or --config: go on when an input file recorded in run.json changed "
                             "(size or SHA-256); run.json keeps which epochs read which files")


def _run_default(name: str):
    """The default of a run option, as the parameter objects declare it."""
    from dream_keras.tasks.atac.parameters import ProfileCountTrainParameters
    from dream_keras.tasks.parameter_defaults import field_default

    return field_default(ProfileCountTrainParameters, name)


def add_strategy_option(parser: argparse.ArgumentParser) -> None:
    """``--strategy default|mirrored|multiworker`` (``dream_keras.training.distribution``)."""
    from dream_keras.training.distribution import STRATEGIES, STRATEGY_HELP

    parser.add_argument("--strategy", choices=STRATEGIES, action=Explicit,
                        help=STRATEGY_HELP + f" (default: {_run_default('strategy')})")


def add_speed_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--precision`` and ``--jit-compile``.

    ``--precision float32|mixed_bfloat16|mixed_float16`` and ``--jit-compile auto|on|off``
    (``dream_keras.training.performance``).
    """
    from dream_keras.training.performance import JIT_CHOICES, PRECISIONS

    parser.add_argument("--precision", choices=PRECISIONS, action=Explicit,
                        help="Keras dtype policy: mixed_bfloat16/mixed_float16 compute in 16 bits with float32 "
                             f"weights, outputs and losses (default: {_run_default('precision')})")
    parser.add_argument("--jit-compile", choices=JIT_CHOICES, action=Explicit,
                        help="XLA-compiled train and predict steps; auto times a few training steps of the run's model "
                             "both ways on this machine at the start (once per configuration: cached under "
                             "~/.cache/dream-keras or $DREAM_KERAS_CACHE_DIR) and keeps the faster on CPU, Keras's "
                             "choice elsewhere (default: "
                             f"{_run_default('jit_compile')})")


#: The ATAC training inputs, one help text each (``bias train`` and ``train`` name the same files).
ATAC_INPUTS = {
    "--genome": "reference FASTA",
    "--bigwig": "per-base Tn5 insertion counts (bigWig, +4/-4 shifted)",
    "--peaks": "peaks (narrowPeak: windows centred on the summit)",
    "--nonpeaks": "background regions (`dream-keras prep nonpeaks`)",
    "--bias-model": "trained bias model (.keras, `dream-keras bias train`)",
    "--fold-dir": "folder of fold_N.json files for numbered folds and 'all' (default: bundled hg38 folds)",
}


def add_atac_inputs(parser, *flags: str) -> None:
    """The options ``flags`` (keys of :data:`ATAC_INPUTS`) on ``parser`` or an argument group."""
    for flag in flags:
        parser.add_argument(flag, action=Explicit, help=ATAC_INPUTS[flag])


#: The ATAC window and filter numbers, one help text each (``{}``: the default of the command's parameters).
ATAC_NUMBERS = {
    "--input-length": (int, "input window (bp, default {})"),
    "--output-length": (int, "profile window (bp, default {})"),
    "--max-jitter": (int, "peak jitter (bp, default {})"),
    "--negative-ratio": (float, "nonpeaks per peak each epoch (default {})"),
    "--outlier-quantile": (float, "outlier filter quantile (default {})"),
}


def add_atac_numbers(parser, parameters: type, *flags: str) -> None:
    """Add the options ``flags`` (keys of :data:`ATAC_NUMBERS`) to ``parser`` or an argument group.

    Args:
        parser: the parser or argument group.
        parameters: the parameters dataclass whose defaults the help shows.
        *flags: the options, in the order ``--help`` lists them.
    """
    from dream_keras.tasks.parameter_defaults import field_default

    for flag in flags:
        kind, text = ATAC_NUMBERS[flag]
        parser.add_argument(flag, type=kind, action=Explicit,
                            help=text.format(field_default(parameters, flag[2:].replace("-", "_"))))


def add_training_options(parser: argparse.ArgumentParser, parameters: type, *, label: str = "default") -> None:
    """Add the training options to ``parser``.

    ``--epochs``, ``--patience``, ``--lr``, ``--batch-size`` (per replica), ``--strategy``, ``--precision``,
    ``--jit-compile`` and ``--seed``, their help showing the defaults of the dataclass ``parameters``
    (``"(LABEL N)"``, e.g. ``label="atac:"`` where another task has other defaults).
    """
    from dream_keras.tasks.parameter_defaults import field_default

    def default(name: str) -> str:
        return f"{label} {field_default(parameters, name)}"

    parser.add_argument("--epochs", type=int, action=Explicit, help=f"most epochs ({default('epochs')})")
    parser.add_argument("--patience", type=int, action=Explicit,
                        help=f"early-stopping patience in epochs, on the validation loss ({default('patience')})")
    parser.add_argument("--lr", type=float, action=Explicit, help=f"learning rate ({default('lr')}, Adam)")
    parser.add_argument("--batch-size", type=int, action=Explicit,
                        help=f"batch size per replica ({default('batch_size')}; with --strategy a step's global batch "
                             "is this x replicas)")
    add_strategy_option(parser)
    add_speed_options(parser)
    parser.add_argument("--seed", type=int, action=Explicit,
                        help=f"random seed (default {field_default(parameters, 'seed')})")


def add_model_options(parser: argparse.ArgumentParser, *, filters_help: str, layers_help: str) -> None:
    """``--filters``, ``--n-dil-layers`` and the repeatable ``--model-option KEY=VALUE``."""
    parser.add_argument("--filters", type=int, action=Explicit, help=filters_help)
    parser.add_argument("--n-dil-layers", type=int, action=Explicit, help=layers_help)
    parser.add_argument("--model-option", dest="model_options", action=ModelOption, default={}, metavar="KEY=VALUE",
                        help="any option of the backbone or head, repeatable, VALUE read as JSON "
                             "(e.g. --model-option lstm_units=64 --model-option first_filters=32)")


def apply_recorded_parameters(args: argparse.Namespace, parameters: dict) -> None:
    """Fill every option the user did not give from ``parameters`` (a run.json's).

    ``model_options`` are merged key by key (recorded first, given ones on top).
    """
    explicit = getattr(args, "explicit_options", set()) or set()
    for key, value in parameters.items():
        if key == "model_options":
            given = dict(args.model_options or {}) if "model_options" in explicit else {}
            args.model_options = {**dict(value or {}), **given}
        elif key not in explicit and hasattr(args, key) and key not in ("out", "config", "resume", "overwrite",
                                                                          "allow_changed_inputs"):
            setattr(args, key, value)


def _describe_type(hint) -> str:
    args = typing.get_args(hint)
    if args and type(None) in args:
        return " or ".join(_describe_type(a) for a in args if a is not type(None)) + " (or null)"
    if args:
        return " or ".join(_describe_type(a) for a in args)
    origin = typing.get_origin(hint) or hint
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false", dict: "a mapping",
            list: "a list"}.get(origin, getattr(origin, "__name__", str(origin)))


def _fits(value, hint) -> bool:
    """Whether the JSON value ``value`` has the type ``hint`` of a parameter field (ints pass as floats)."""
    args = typing.get_args(hint)
    if args and typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    origin = typing.get_origin(hint) or hint
    if hint is type(None):
        return value is None
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin in (str, dict, list):
        return isinstance(value, origin)
    return True


def check_recorded_parameters(parameters: dict, schema: type, source, *, derived=("task",)) -> None:
    """Refuse a recorded ``parameters`` section that does not fit the run's parameters object.

    Refuse a recorded ``parameters`` section with a key the run's parameters object lacks or a value of the wrong type,
    naming the key, before anything is read or written.

    Args:
        parameters: ``run.json``'s ``parameters``.
        schema: the parameters dataclass of the command (e.g. ``BiasTrainParameters``).
        source: the file, for the message.
        derived: recorded keys that are values the run derived, not options (accepted, not checked).
    """
    hints = typing.get_type_hints(schema)
    unknown = sorted(set(parameters) - set(hints) - set(derived))
    if unknown:
        raise InputError(f"config file {source}: unknown parameter(s) {', '.join(unknown)} (not options of this "
                         f"command; known: {', '.join(sorted(hints))}). Fix: remove them, or pass the run.json of a "
                         "run of this command")
    for key, value in parameters.items():
        if key in hints and not _fits(value, hints[key]):
            raise InputError(f"config file {source}: parameter {key!r} is {json.dumps(value)}, but it must be "
                             f"{_describe_type(hints[key])}. Fix: correct that value in the file")


def _changed_given_inputs(record: dict, explicit: set, args: argparse.Namespace) -> list[str]:
    """For ``--resume``: input files the command line names now that differ from the recorded ones."""
    from data_prep.outputs.recorded_inputs import file_fingerprint

    lines = []
    for name, recorded in record.get("inputs", {}).items():
        given = getattr(args, name, None) if name in explicit else None
        if not isinstance(given, str) or not isinstance(recorded, dict):
            continue
        now = file_fingerprint(given)
        if (now["size"], now["sha256"]) != (recorded.get("size"), recorded.get("sha256")):
            lines.append(f"{name} {given} is not the file the run read ({recorded.get('path')}, "
                         f"{recorded.get('size')} bytes, SHA-256 {str(recorded.get('sha256'))[:12]}...)")
    for name in ("fold", "fold_dir"):
        recorded_value = record.get("parameters", {}).get(name)
        given = getattr(args, name, None)
        if name in explicit and given is not None and str(absolute(given) if name == "fold_dir" else given) \
                != str(recorded_value):
            lines.append(f"--{name.replace('_', '-')} {given} is not the recorded {recorded_value}")
    return lines


def resolve_recorded_parameters(args: argparse.Namespace, command: str, schema_of) -> None:
    """Apply ``--config`` (or, with ``--resume``, the run folder's own run.json) to ``args``.

    Args:
        args: the parsed options.
        command: the command's name (``train``, ``bias train``).
        schema_of: ``parameters -> (dataclass, derived keys)``: the parameters object that checks the
            recorded values (:func:`check_recorded_parameters`).

    Raises:
        InputError: the file is not a run.json of this command, holds an unknown or mistyped
            parameter, or an input changed (a recorded file now differs; with ``--resume``, also a
            file named anew on the command line), unless ``--allow-changed-inputs``.
    """
    from data_prep.outputs import read_run_json

    record = None
    if getattr(args, "config", None):
        record = read_run_json(args.config)
        if record.get("command") not in (None, command):
            raise InputError(f"config file {args.config} records a `dream-keras {record.get('command')}` run, not "
                             f"`dream-keras {command}`; pass the run.json of a {command} run")
    elif getattr(args, "resume", False):
        own = pathlib.Path(args.out) / "logs" / "run.json"
        if own.is_file():
            record = read_run_json(own)
    if record is None:
        return
    from data_prep.outputs.recorded_inputs import check_recorded_inputs

    source = args.config if getattr(args, "config", None) else pathlib.Path(args.out) / "logs" / "run.json"
    schema, derived = schema_of(record["parameters"])
    check_recorded_parameters(record["parameters"], schema, source, derived=derived)
    explicit = set(getattr(args, "explicit_options", set()) or set())
    allow = bool(getattr(args, "allow_changed_inputs", False))
    if getattr(args, "resume", False) and not getattr(args, "config", None):
        # resuming continues the run on what it read: a file named anew must be that same file
        changed = _changed_given_inputs(record, explicit, args)
        if changed and not allow:
            raise InputError(f"--resume refused: {'; '.join(changed)}. A resumed run (finished or not) goes on with "
                             "the inputs it was started with: leave those options out, start a new run with --out "
                             "NEW_FOLDER, or pass --allow-changed-inputs (run.json then keeps what the earlier "
                             "epochs read in 'input_history')")
    # inputs the command line names anew are not the recorded ones: only the others must match
    skip = {name for name in record.get("inputs", {})
            if name in explicit or (name.startswith("fold") and explicit & {"fold", "fold_dir"})}
    check_recorded_inputs(record, source, skip=skip, allow=allow)
    apply_recorded_parameters(args, record["parameters"])


def collect_model_options(args: argparse.Namespace) -> dict:
    """``args.model_options`` with ``--filters`` and ``--n-dil-layers`` added when given."""
    options = dict(getattr(args, "model_options", None) or {})
    for key in ("filters", "n_dil_layers"):
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
            setattr(args, key, None)  # now part of model_options (run.json records it there)
    args.model_options = options
    return options


def absolute(path) -> str | None:
    """Absolute path text for run.json (``None`` stays ``None``), so a config works from any folder."""
    return None if path is None else str(pathlib.Path(os.fspath(path)).expanduser().resolve())


def require_options(args: argparse.Namespace, names, command: str) -> None:
    """Refuse a run missing any of the options ``names`` (attribute names), naming them as flags."""
    missing = [f"--{name.replace('_', '-')}" for name in names if getattr(args, name, None) is None]
    if missing:
        raise InputError(f"{command} needs {', '.join(missing)} (or --config RUN/logs/run.json of an earlier run)")


#: parameters the command line sets itself (paths made absolute, model options collected)
_SET_BY_THE_COMMAND = {"genome", "bigwig", "peaks", "nonpeaks", "bias_model", "fold", "fold_dir", "model_options",
                       "counts_loss_weight"}


#: the ATAC input files a run records as absolute paths (those its parameters have), in the order a refusal names them
_ATAC_FILES = ("genome", "bigwig", "peaks", "nonpeaks", "bias_model")


def atac_run_parameters(args: argparse.Namespace, parameters: type, command: str):
    """The ATAC training parameters of parsed arguments.

    Args:
        args: the parsed options (``--config`` applied, model options collected).
        parameters: the parameters dataclass (``BiasTrainParameters``, ``AtacTrainParameters``).
        command: the command's name in the refusal of a missing option (``bias train``).

    Returns:
        A ``parameters`` with the input files as absolute paths (:func:`absolute`), the fold as text, the model
        options and every option given; the options not given keep the defaults declared on ``parameters``.

    Raises:
        InputError: an input file of ``parameters`` or ``--fold`` is not given.
    """
    import dataclasses

    fields = {field.name for field in dataclasses.fields(parameters)}
    files = [name for name in _ATAC_FILES if name in fields]
    require_options(args, (*files, "fold"), command)
    return parameters(**{name: absolute(getattr(args, name)) for name in files}, fold=str(args.fold),
                      fold_dir=absolute(args.fold_dir), model_options=dict(args.model_options),
                      counts_loss_weight=args.counts_loss_weight, **given_options(args, parameters))


def given_options(args: argparse.Namespace, parameters: type) -> dict:
    """The fields of the dataclass ``parameters`` that ``args`` gives a value for.

    The fields of the dataclass ``parameters`` that ``args`` gives a value (not ``None``) for, other than those the
    command sets itself; the fields left out keep the defaults declared on ``parameters``.
    """
    import dataclasses

    names = {field.name for field in dataclasses.fields(parameters)} - _SET_BY_THE_COMMAND
    return {name: getattr(args, name) for name in sorted(names) if getattr(args, name, None) is not None}


def help_text(docstring: str) -> str:
    """A module docstring as ``--help`` text (reStructuredText literals shown plainly)."""
    return docstring.replace("``", "")
