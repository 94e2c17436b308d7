"""Parsing framework parameters written as ``key=value`` on the command line."""

from __future__ import annotations

import argparse
import ast
import re

__all__ = ["parse_params", "parse_shape", "parse_value"]


def parse_value(text: str) -> object:
    """A Python literal (``2``, ``(1, 2)``, ``[[0, 0], [1, 1]]``, ``None``, ``True``, ``'same'``), ``2x3`` or
    ``2,3`` for a tuple of ints, ``true``/``false``/``none``, or else the text itself (a string).

    Examples
    --------
    >>> parse_value("2"), parse_value("2x3"), parse_value("2,3"), parse_value("SAME"), parse_value("none")
    (2, (2, 3), (2, 3), 'SAME', None)
    >>> parse_value("[[0,0],[1,1]]")
    [[0, 0], [1, 1]]
    >>> len(parse_value("-" * 100_000 + "1"))  # too deep for Python's parser: the text, for the library to refuse
    100001
    """
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        if re.fullmatch(r"-?\d+([x,]-?\d+)+", text.strip()):
            return tuple(int(v) for v in re.split(r"[x,]", text.strip()))
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        # not a literal; more digits than Python converts; nesting too deep for Python's parser
        return text


def parse_params(items: list[str]) -> dict[str, object]:
    """``["strides=2", "padding=same"]`` -> ``{"strides": 2, "padding": "same"}``."""
    params: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"framework parameters are written name=value (e.g. strides=2 padding=same), got {item!r}")
        params[key] = parse_value(value)
    return params


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1x16x16x4"`` or ``"1,16,16,4"`` -> a tuple of ints (for ``argparse``)."""
    try:
        return tuple(int(v) for v in re.split(r"[x,]", text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shapes are integers like 1x16x16x4, got {text!r}") from None
