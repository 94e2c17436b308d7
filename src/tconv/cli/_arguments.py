"""Option values shared by ``tconv explain`` and ``tconv artifacts``."""

from __future__ import annotations

import argparse

from . import parse_sizes


def one_or_many(values: tuple[int, ...] | None, default: int) -> int | tuple[int, ...]:
    """An option given per axis (``2``, ``2,3``) as tconv takes it: one int, or one per axis; ``default`` if absent."""
    if values is None:
        return default
    return values[0] if len(values) == 1 else values


def channels(text: str) -> tuple[int, int]:
    """``--channels C_in,C_out``: two positive ints."""
    values = parse_sizes(text, "--channels")
    if len(values) != 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--channels must be two positive ints C_in,C_out, got {text!r}")
    return values[0], values[1]
