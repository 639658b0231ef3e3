"""Argument types for numbers that must lie in a range (``type=`` of ``argparse`` options)."""

from __future__ import annotations

import argparse


def ranged(name: str, convert, accept, what: str):
    """An ``argparse`` type that converts its text with ``convert`` and refuses values ``accept`` rejects.

    Args:
        name: the type's name (``argparse`` names it when ``convert`` fails: ``invalid NAME value``).
        convert: text to number (``int``, ``float``).
        accept: ``value -> bool``, whether the value lies in the range.
        what: the range in words, for the refusal (``a positive integer``).

    Returns:
        ``text -> value``, raising ``argparse.ArgumentTypeError`` (reported on the option) outside the range.
    """
    def check(text: str):
        value = convert(text)
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    check.__name__ = name
    return check


#: 1 or more
positive_int = ranged("positive_int", int, lambda value: value >= 1, "a positive integer")
#: 0 or more
non_negative_int = ranged("non_negative_int", int, lambda value: value >= 0, "0 or a positive integer")
#: a number in (0, 1]
fraction = ranged("fraction", float, lambda value: 0.0 < value <= 1.0, "a number in (0, 1]")
