"""What tconv's two layer classes share: the ``padding`` attribute and the algorithm options.

:class:`tconv.nn.ConvTranspose` (NumPy) and the drop-in ``tconv.torch.ConvTranspose*d``
(PyTorch modules) take PyTorch's constructor arguments plus what
:func:`tconv.conv_transpose` adds: every padding form, and the ``algorithm`` of the
forward pass and the ``backward_algorithm`` of the input gradient. Both check and
store them here, so that the two layers agree.
"""

from __future__ import annotations

from ._algorithms import algorithms
from .geometry import PaddingArg, Pairs, parse_padding

__all__ = ["check_algorithms", "padding_attribute"]


def padding_attribute(padding: PaddingArg, ndim: int) -> str | tuple[int, ...] | Pairs:
    """A layer's ``padding`` attribute: PyTorch's form where it has one, else the pairs or the mode.

    Symmetric padding becomes one int per axis (as ``torch.nn.ConvTranspose2d(...).padding``
    holds it); asymmetric padding stays ``(begin, end)`` pairs; ``"same"`` and ``"valid"``
    stay strings. Raises as :func:`tconv.geometry.parse_padding` does.

    Examples
    --------
    >>> padding_attribute(1, 2), padding_attribute(((1, 2), 0), 2), padding_attribute("same", 2)
    ((1, 1), ((1, 2), (0, 0)), 'same')
    """
    pad = parse_padding(padding, ndim)
    if isinstance(pad, str):
        return pad
    if all(begin == end for begin, end in pad):
        return tuple(begin for begin, _ in pad)
    return pad


def check_algorithms(algorithm: object, backward_algorithm: object) -> None:
    """Check a layer's ``algorithm`` (of ``conv_transpose``) and ``backward_algorithm`` (of ``conv``).

    Examples
    --------
    >>> check_algorithms("auto", "no-such")
    Traceback (most recent call last):
    ...
    ValueError: backward_algorithm 'no-such' not found, valid options are {'auto', ...}
    """
    if algorithm == "auto" and backward_algorithm == "auto":  # the default, on every call of a layer: no lookup
        return
    for value, op, name in (
        (algorithm, "conv_transpose", "algorithm"),
        (backward_algorithm, "conv", "backward_algorithm"),
    ):
        valid = ("auto", *algorithms(op))
        if not isinstance(value, str) or value not in valid:
            raise ValueError(f"{name} {value!r} not found, valid options are {{{', '.join(map(repr, valid))}}}")
