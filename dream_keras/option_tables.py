"""The options every registered backbone and head takes, as Markdown tables for the documentation.

The tables are generated from the registries (each builder's keyword arguments and its registered
defaults), so they cannot drift from the code: the documentation site's build puts them between the
``<!-- options:start -->`` and ``<!-- options:end -->`` markers of ``docs/reference/models.md``
(``docs/hooks/option_tables.py``); ``python -m dream_keras.option_tables [FILE]`` rewrites that block in
the Markdown file itself, and ``tests/test_option_tables.py`` fails when the file's copy is stale.
"""

from __future__ import annotations

import inspect
import json
import pathlib
import sys

START, END = "<!-- options:start -->", "<!-- options:end -->"
#: The page that holds the tables (relative to the repository root).
DEFAULT_PAGE = "docs/reference/models.md"
#: Options with a flag of their own on ``dream-keras train`` / ``bias train`` (integers only: a list-valued
#: ``filters``, e.g. DeepSTARR's, is given as ``--model-option filters=[...]``); every other option is given
#: as ``--model-option KEY=VALUE`` (VALUE read as JSON).
DEDICATED_FLAGS = {"filters": "--filters", "n_dil_layers": "--n-dil-layers"}


def builder_defaults(spec) -> dict:
    """``{option: default}`` of a registered part.

    The builder's signature defaults, overridden by the defaults it was registered with (``None`` where the builder has
    neither).
    """
    signature = inspect.signature(spec.build).parameters
    defaults = {name: (None if signature[name].default is inspect.Parameter.empty else signature[name].default)
                for name in sorted(spec.options)}
    defaults.update({name: value for name, value in spec.defaults.items() if name in defaults})
    return defaults


def _value(value) -> str:
    text = json.dumps(value) if isinstance(value, (str, list, tuple, dict, bool)) or value is None else repr(value)
    return f"`{text}`"


def _options_cell(defaults: dict) -> str:
    cells = []
    for name, value in defaults.items():
        flag = DEDICATED_FLAGS.get(name) if isinstance(value, int) and not isinstance(value, bool) else None
        cells.append(f"`{name}`={_value(value)}" + (f" (`{flag}`)" if flag else ""))
    return "<br>".join(cells) or "none"


def options_markdown() -> str:
    """The two Markdown tables (backbones, heads) for the registered parts, built-in and plug-in."""
    from dream_keras.registry import get_backbone, get_head, list_backbones, list_heads

    lines = ["| backbone | original head | input (length x channels, alphabet) | options = default |",
             "|---|---|---|---|"]
    for name in list_backbones():
        spec = get_backbone(name)
        defaults = builder_defaults(spec)
        geometry = f"{spec.defaults.get('input_length', 'any')} x {spec.defaults.get('channels', 4)}, {spec.alphabet}"
        lines.append(f"| `{name}` | `{spec.default_head}` | {geometry} | {_options_cell(defaults)} |")
    lines += ["", "| head | input it sets unless given | options = default |", "|---|---|---|"]
    for name in list_heads():
        spec = get_head(name)
        inputs = ", ".join(f"`{k}`={_value(v)}" for k, v in spec.input_defaults.items()) or "none"
        lines.append(f"| `{name}` | {inputs} | {_options_cell(builder_defaults(spec))} |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str) -> str:
    """``text`` with the part between the option markers replaced by ``block``."""
    if START not in text or END not in text:
        raise ValueError(f"no {START} ... {END} block to replace")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the option tables of a Markdown file (default: :data:`DEFAULT_PAGE`)."""
    path = pathlib.Path((argv if argv is not None else sys.argv[1:] or [DEFAULT_PAGE])[0])
    path.write_text(replace_block(path.read_text(), options_markdown()))
    print(f"updated the option tables in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
