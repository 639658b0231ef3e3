"""Argument types for numbers that must lie in a range (``type=`` of ``argparse`` options)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number of 1 or more.

    Args:
        text: the option's value as given.

    Returns:
        The number.

    Raises:
        argparse.ArgumentTypeError: ``text`` is not a positive integer (``argparse`` reports it on the option).
    """
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of 0 or more.

    Args:
        text: the option's value as given.

    Returns:
        The number.

    Raises:
        argparse.ArgumentTypeError: ``text`` is negative (``argparse`` reports it on the option).
    """
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not 0 or a positive integer")
    return value


def fraction(text: str) -> float:
    """A number in (0, 1].

    Args:
        text: the option's value as given.

    Returns:
        The number.

    Raises:
        argparse.ArgumentTypeError: ``text`` lies outside (0, 1] (``argparse`` reports it on the option).
    """
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a number in (0, 1]")
    return value
