"""Argument checks on plain Python integers (no NumPy).

Every public function validates its arguments through these helpers so that a bad
value always gives a ``TypeError`` (wrong kind of thing) or ``ValueError`` (bad value)
that names the parameter and the value, in one wording:
``stride must be positive in every axis, got (2, 0)``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

__all__ = ["as_int", "int_tuple", "is_int", "show"]


def show(value: object) -> str:
    """Format a user-supplied value for an error message (tuples stay tuples)."""
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, (str, bool)) or not is_int(value):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(operator.index(value))  # type: ignore[arg-type]


def is_int(value: object) -> bool:
    """True for Python and NumPy integers, False for bool (a bool is never a size)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return False
    try:
        operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def as_int(value: object, name: str) -> int:
    """Return ``value`` as an ``int`` or raise ``TypeError`` naming ``name``."""
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {show(value)} of type {type(value).__name__}")
    return operator.index(value)  # type: ignore[arg-type]


def int_tuple(
    value: object,
    name: str,
    ndim: int,
    *,
    minimum: int | None = None,
    rule: str = "",
) -> tuple[int, ...]:
    """Broadcast an int, or check a sequence of ``ndim`` ints, into a tuple.

    Parameters
    ----------
    value : int or sequence of int
        One int for every axis, or one int per axis.
    name : str
        Parameter name used in error messages.
    ndim : int
        Number of spatial axes.
    minimum : int, optional
        Smallest allowed entry; the error message says ``rule``.
    rule : str
        Human wording of the minimum, e.g. ``"positive"`` or ``"non-negative"``.

    Examples
    --------
    >>> int_tuple(2, "stride", 3)
    (2, 2, 2)
    >>> int_tuple((1, 2), "stride", 2)
    (1, 2)
    >>> int_tuple((1, 0), "stride", 2, minimum=1, rule="positive")
    Traceback (most recent call last):
    ...
    ValueError: stride must be positive in every axis, got (1, 0)
    """
    if is_int(value):
        result = (operator.index(value),) * ndim  # type: ignore[arg-type]
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if not all(is_int(v) for v in value):
            raise TypeError(f"{name} must be an int or a sequence of {ndim} ints, got {show(value)}")
        if len(value) != ndim:
            raise ValueError(
                f"{name} must have one entry per spatial axis ({ndim}), got {len(value)} entries: {show(value)}"
            )
        result = tuple(operator.index(v) for v in value)
    else:
        raise TypeError(
            f"{name} must be an int or a sequence of {ndim} ints, got {show(value)} of type {type(value).__name__}"
        )
    if minimum is not None and any(v < minimum for v in result):
        raise ValueError(f"{name} must be {rule} in every axis, got {show(value)}")
    return result
