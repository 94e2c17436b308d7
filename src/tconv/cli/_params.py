"""Parsing a layer as a person writes it on the command line: ``key=value`` words, or the call itself.

Expressions are read with :mod:`ast` and only literals are evaluated
(:func:`ast.literal_eval`): nothing typed is ever run.
"""

from __future__ import annotations

import argparse
import ast
import re

__all__ = ["is_call", "parse_call", "parse_params", "parse_shape", "parse_value"]

#: A layer written as a call: a dotted name and ``(``, perhaps after ``layer =`` (``name=value`` words never
#: match: ``stride=(2, 2)`` has no name before its parenthesis).
_CALL = re.compile(r"\s*(?:[A-Za-z_]\w*\s*=(?!=)\s*)?[A-Za-z_][\w.]*\s*\(")


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


def is_call(text: str) -> bool:
    """Whether ``text`` (the words joined) is a layer written as a call, not ``name=value`` words.

    Examples
    --------
    >>> is_call("torch.nn.ConvTranspose2d(64, 32, 3)"), is_call("layer = nn.ConvTranspose2d(4, 8, 3)")
    (True, True)
    >>> is_call("stride=(2, 2) padding=[(1, 1), (1, 1)]")
    False
    """
    return _CALL.match(text) is not None


def parse_params(items: list[str]) -> dict[str, object]:
    """``["strides=2", "padding=same"]`` -> ``{"strides": 2, "padding": "same"}`` (a trailing comma, as copied
    from an argument list, is dropped); a name given twice is an error, as in a Python call.

    Examples
    --------
    >>> parse_params(["stride=(2,2)", "padding=[(1,1),(0,0)]"])
    {'stride': (2, 2), 'padding': [(1, 1), (0, 0)]}
    >>> parse_params(["strides=2", "strides=3"])
    Traceback (most recent call last):
    ...
    ValueError: strides is given twice (strides=2 and strides=3): give each parameter once
    """
    params: dict[str, object] = {}
    written: dict[str, str] = {}
    for item in items:
        item = item.strip().removesuffix(",")
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"framework parameters are written name=value (e.g. strides=2 padding=same), got {item!r}")
        if key in written:
            raise ValueError(f"{key} is given twice ({written[key]} and {item}): give each parameter once")
        written[key] = item
        params[key] = parse_value(value)
    return params


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1x16x16x4"`` or ``"1,16,16,4"`` -> a tuple of ints (for ``argparse``)."""
    try:
        return tuple(int(v) for v in re.split(r"[x,]", text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shapes are integers like 1x16x16x4, got {text!r}") from None


def _dotted(node: ast.expr) -> str | None:
    """``torch.nn.ConvTranspose2d`` of an ``ast.Attribute`` chain of names, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else head + "." + node.attr
    return None


def _value(node: ast.expr) -> object:
    """A literal's value; any other expression (a variable ``x``, ``torch.float32``) as its text."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.unparse(node)


def parse_call(text: str) -> tuple[str, list[object], dict[str, object]]:
    """A call as written, ``name(args, key=value)``, as ``(dotted name, positional, keywords)``.

    Only literals are evaluated; anything else (the arrays ``x``, ``w``; ``tf.nn.relu``)
    stays its text, for the framework's reading to drop or to refuse by name. A bare
    name as a keyword's value reads as that word (``padding=same``).

    Examples
    --------
    >>> parse_call("torch.nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)")
    ('torch.nn.ConvTranspose2d', [64, 32, 3], {'stride': 2, 'padding': 1, 'output_padding': 1})
    >>> parse_call("tf.nn.conv2d_transpose(x, w, [1, 8, 8, 3], 2, padding='SAME')")
    ('tf.nn.conv2d_transpose', ['x', 'w', [1, 8, 8, 3], 2], {'padding': 'SAME'})
    >>> parse_call("__import__('os').system('ls')")
    Traceback (most recent call last):
    ...
    ValueError: a layer is written as a call of a name, like torch.nn.ConvTranspose2d(...), got __import__('os').system
    """
    source = text.strip()
    source = source.split("=", 1)[1].strip() if re.match(r"^[A-Za-z_][\w.]*\s*=[^=]", source) else source  # layer = ...
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise ValueError(
            f"cannot read the layer {text!r}: {error.msg} (write it as in Python, quoted for the shell)"
        ) from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise ValueError(f"a layer is written as a call, like torch.nn.ConvTranspose2d(64, 32, 3), got {text!r}")
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise ValueError(f"write the arguments out (no *args or **kwargs): {text!r}")
    callee = _dotted(call.func)
    if callee is None:
        raise ValueError(
            f"a layer is written as a call of a name, like torch.nn.ConvTranspose2d(...), got {ast.unparse(call.func)}"
        )
    seen = [str(k.arg) for k in call.keywords]  # no None: **kwargs was refused above
    repeated = sorted({name for name in seen if seen.count(name) > 1})  # Python's compiler refuses it; ast does not
    if repeated:
        raise ValueError(f"keyword argument repeated: {', '.join(repeated)} (in {text.strip()!r})")
    args = [_value(a) for a in call.args]
    keywords = {k.arg: (k.value.id if isinstance(k.value, ast.Name) else _value(k.value)) for k in call.keywords}
    return callee, args, keywords  # type: ignore[return-value]
