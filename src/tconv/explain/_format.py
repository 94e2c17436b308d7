"""Text helpers shared by the explanations: number grids and per-axis values."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def collapse(values: Sequence[int]) -> int | tuple[int, ...]:
    """One value when every axis has it, else the tuple: ``(2, 2) -> 2``, ``(1, 2) -> (1, 2)``."""
    return values[0] if len(set(values)) == 1 else tuple(values)


def grid_text(
    a: np.ndarray,
    label: Callable[[object], str],
    decorate: Callable[[str, int, int], str],
    indent: str = "  ",
) -> str:
    """Right-aligned rows of a 1-d or 2-d array (a 1-d array is one row).

    Every cell is ``label(value)``, then ``decorate(text, row, column)`` adds at
    most two characters around it (a mark, or a space); the columns are as wide
    as the longest label plus two.
    """
    rows = a.reshape(1, -1) if a.ndim == 1 else a
    labels = [[label(v) for v in row] for row in rows]
    width = max(len(text) for row in labels for text in row) + 2
    lines = []
    for r, row in enumerate(labels):
        cells = "".join(decorate(text, r, c).rjust(width) for c, text in enumerate(row))
        lines.append((indent + cells).rstrip())
    return "\n".join(lines)
