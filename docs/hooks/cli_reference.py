"""The command reference, generated from the command-line parser so that it cannot go stale.

:func:`cli_reference_markdown` walks ``dream_keras.cli.build_parser()``: for every command (``prep`` and
``bias`` expanded into their subcommands) it writes a section with the one-line summary, the description,
the usage line, a table per argument group (each option, its value, whether it is required, its help text)
and the command's examples. The MkDocs hook :func:`on_page_markdown` puts that text where a page holds
the marker ``<!-- cli-reference -->`` (``docs/reference/cli.md``).
"""

from __future__ import annotations

import argparse
import re

MARKER = "<!-- cli-reference -->"
#: Width of the generated usage lines (the terminal's width must not change the page).
USAGE_WIDTH = 100
# Markdown characters that would start emphasis, HTML, a link or a table cell in help text.
_SPECIAL = re.compile(r"([\\*_\[\]|])")
# Python-Markdown has no backslash escape for these: HTML entities instead.
_ENTITIES = {"<": "&lt;", ">": "&gt;"}
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def escape_markdown(text: str) -> str:
    """``text`` with Markdown's special characters escaped outside its ``code spans``.

    Args:
        text: Plain text from the parser (help strings, descriptions); backtick spans are kept as code.

    Returns:
        The text, safe to place in a paragraph or a table cell.
    """
    parts = _CODE_SPAN.split(text)
    return "".join(part if part.startswith("`") and part.endswith("`") and len(part) > 1
                   else _escape_plain(part) for part in parts)


def _escape_plain(text: str) -> str:
    text = _SPECIAL.sub(r"\\\1", text)
    return "".join(_ENTITIES.get(character, character) for character in text)


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    # argparse keeps subcommands only in this private action type; it has been stable since Python 3.2.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def commands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """Every command of the parser, nested subcommands expanded, in the order the parser lists them.

    Args:
        parser: The top-level parser (``dream_keras.cli.build_parser()``).

    Returns:
        ``[(command words, one-line summary, parser)]``, e.g. ``("prep splits", "write a fold JSON ...", p)``.
    """
    found = []
    sub = _subparsers(parser)
    if sub is None:
        return found
    summaries = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    for name, child in sub.choices.items():
        nested = _subparsers(child)
        if nested is None:
            found.append((name, summaries.get(name, ""), child))
        else:
            found.extend((f"{name} {words}", summary, grandchild)
                         for words, summary, grandchild in commands(child))
    return found


def _option_cell(action: argparse.Action) -> str:
    if action.option_strings:
        flags = ", ".join(action.option_strings)
        if action.nargs == 0:
            return f"`{flags}`"
        metavar = action.metavar or (("{" + ",".join(map(str, action.choices)) + "}") if action.choices
                                     else action.dest.upper())
        if isinstance(metavar, tuple):
            metavar = " ".join(metavar)
        many = " ..." if action.nargs in ("+", "*") else ""
        return f"`{flags} {metavar}{many}`"
    metavar = action.metavar or action.dest
    return f"`{metavar}{' ...' if action.nargs in ('+', '*') else ''}`"


def _help_cell(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()  # expands %(default)s as --help does
    text = formatter._expand_help(action) if action.help else ""
    if action.choices and action.option_strings and action.metavar:
        text += f" (one of: {', '.join(map(str, action.choices))})"
    return escape_markdown(" ".join(text.split()))


def _paragraphs(text: str) -> list[str]:
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]


def command_markdown(words: str, summary: str, parser: argparse.ArgumentParser) -> str:
    """One command's section: summary, description, usage, option tables and examples.

    Args:
        words: The command after ``dream-keras`` (``"train"``, ``"prep splits"``).
        summary: Its one-line summary from the parent parser.
        parser: The command's own parser.

    Returns:
        Markdown text starting with a level-2 heading.
    """
    parser.formatter_class = _fixed_width(parser.formatter_class)
    lines = [f"## `dream-keras {words}`", ""]
    if summary:
        lines += [escape_markdown(summary[0].upper() + summary[1:]) + ".", ""]
    description = parser.description or ""
    first, _, rest = description.partition("\n")
    if first.startswith(f"dream-keras {words}:"):  # the description restates the summary: keep its rest
        description = rest
    lines += [p for paragraph in _paragraphs(description) for p in (escape_markdown(paragraph), "")]
    usage = parser.format_usage().strip().removeprefix("usage: ")
    lines += ["```text", usage, "```", ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help != argparse.SUPPRESS
                   and not isinstance(a, argparse._HelpAction)]
        if not actions:
            continue
        title = "Arguments" if group.title == "positional arguments" else (
            "Options" if group.title in ("options", "optional arguments") else group.title)
        lines += [f"**{escape_markdown(title)}**", "", "| option | required | description |", "|---|---|---|"]
        for action in actions:
            required = "yes" if action.required or not action.option_strings else ""
            lines.append(f"| {_option_cell(action)} | {required} | {_help_cell(parser, action)} |")
        lines.append("")
    if parser.epilog:
        lines += ["Examples:", "", "```sh", _dedented_examples(parser.epilog), "```", ""]
    return "\n".join(lines)


def _dedented_examples(epilog: str) -> str:
    body = epilog.strip().split("\n")
    if body and body[0].rstrip().endswith(":"):
        body = body[1:]
    indent = min((len(line) - len(line.lstrip()) for line in body if line.strip()), default=0)
    return "\n".join(line[indent:] for line in body).strip("\n")


def _fixed_width(formatter_class):
    def make(prog, **kwargs):
        kwargs["width"] = USAGE_WIDTH
        return formatter_class(prog, **kwargs)
    return make


def cli_reference_markdown() -> str:
    """The whole command reference as Markdown: one section per command, in the parser's order.

    Returns:
        The Markdown text that replaces :data:`MARKER`.
    """
    from dream_keras.cli import build_parser

    parser = build_parser()
    sections = [f"- [`dream-keras {words}`](#{_anchor(words)}): {escape_markdown(summary)}"
                for words, summary, _ in commands(parser)]
    sections.append("")
    sections += [command_markdown(*command) for command in commands(parser)]
    return "\n".join(sections)


def _anchor(words: str) -> str:
    # Python-Markdown's toc slug of "dream-keras WORDS" (code spans keep their text).
    return "dream-keras-" + "-".join(words.split())


def on_page_markdown(markdown: str, page, config, files) -> str:
    """MkDocs hook: put the generated reference where a page holds :data:`MARKER`."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_reference_markdown())
