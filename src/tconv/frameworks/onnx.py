"""ONNX ``ConvTranspose`` (opsets 11 and 22) with every attribute, on NumPy arrays.

``X`` is ``(N, C, *i)``, ``W`` ``(C, M/group, *k)`` (PyTorch's layout), ``B``
``(M,)``. The output is a window (see ``tconv/shape.py``) of the full output
extended by ``output_padding`` zeros at the end, ``natural = (i - 1)*s +
output_padding + k_eff``:

- ``pads = [b..., e...]`` (``auto_pad="NOTSET"``): crop ``b`` and ``e``;
- ``auto_pad="VALID"``: no crop;
- ``auto_pad="SAME_UPPER"``/``"SAME_LOWER"``: ``o = i*s``, the total crop
  ``natural - o`` split with the extra cell at the end (UPPER: ``floor(t/2)`` at the
  start, as TensorFlow) or at the start (LOWER: ``ceil(t/2)``);
- ``output_shape=o``: the total crop ``natural - o`` split as SAME_UPPER for
  ``SAME_UPPER`` and with ``ceil(t/2)`` at the start otherwise (NOTSET, SAME_LOWER,
  VALID); ``pads`` are ignored.

``semantics`` chooses between the two ONNX "truths" where they disagree:

``"spec"`` (default)
    The operator's documentation, evaluated with Python integer division (as the
    reference implementation ``onnx.reference`` does wherever it works):
    ``auto_pad=SAME_*`` always gives ``o = i*s``, even when the total crop
    ``t = k_eff + output_padding - s`` is negative (then the window starts
    before the full output for SAME_UPPER: a zero first cell); an
    ``output_shape`` larger than the natural size also splits a negative total;
    ``pads`` must be non-negative; ``output_shape`` has only spatial entries; and
    ``output_padding`` must be less than stride or dilation (PyTorch's reading of
    "the corresponding stride/dilation").
``"onnxruntime"``
    ONNX Runtime's CPU kernel (checked against onnxruntime 1.31): the total crop is
    clamped at 0, so SAME with ``k_eff + output_padding < s`` gives
    ``(i - 1)*s + output_padding + k_eff`` instead of ``i*s``, and an
    ``output_shape`` above the natural size is zero-extended at the end;
    negative ``pads`` are accepted (zero extension); ``output_shape`` may also
    hold the batch and channel entries; and the result must map back to the input
    under the forward convolution, which bounds ``output_padding`` by the stride
    and ``output_shape`` by ``natural + s - 1``, with ORT's messages.

Both agree everywhere else (``tests/test_compat_onnx.py`` runs ONNX Runtime and the
reference implementation side by side with these functions). The reference
implementation has defects of its own that neither mode copies: it is wrong for
``group > 1`` unless each group has one input and one output channel and there is
no bias, and it raises for ``output_shape`` below the natural size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .._validate import is_int, show
from ..geometry import Geometry
from ._common import as_array, geometry, int_list, run_window

__all__ = ["AUTO_PADS", "SEMANTICS", "conv_transpose", "output_size", "window"]

#: Values of ``auto_pad``.
AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")

#: Values of ``semantics``.
SEMANTICS = ("spec", "onnxruntime")

Semantics = Literal["spec", "onnxruntime"]


def _attribute(value: object, name: str, nd: int, default: int) -> tuple[int, ...]:
    if value is None:
        return (default,) * nd
    values = tuple(int_list(value, name))
    if len(values) != nd:
        raise ValueError(
            f"ConvTranspose: {name} size ({len(values)}) does not match the number of spatial dimensions ({nd})."
        )
    return values


def _check_semantics(semantics: object) -> str:
    if semantics not in SEMANTICS:
        raise ValueError(f"semantics must be one of {SEMANTICS}, got {semantics!r}")
    return semantics  # type: ignore[return-value]


def window(
    input_size: Sequence[int],
    kernel_shape: Sequence[int],
    *,
    auto_pad: str = "NOTSET",
    dilations: Sequence[int] | None = None,
    output_padding: Sequence[int] | None = None,
    output_shape: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    semantics: Semantics = "spec",
) -> Geometry:
    """The window of ``ConvTranspose`` for spatial sizes, after ONNX's (or ORT's) checks.

    Examples
    --------
    ``auto_pad="SAME_UPPER"`` with ``k_eff < stride``: the spec keeps ``o = i*s`` (a zero
    cell first), ONNX Runtime clamps the crop and returns ``(i - 1)*s + k_eff``:

    >>> g = window((3,), (1,), auto_pad="SAME_UPPER", strides=(2,))
    >>> g.output_size, g.crop_begin
    ((6,), (-1,))
    >>> window((3,), (1,), auto_pad="SAME_UPPER", strides=(2,), semantics="onnxruntime").output_size
    (5,)
    """
    runtime = _check_semantics(semantics) == "onnxruntime"
    i = tuple(input_size)
    k = tuple(kernel_shape)
    nd = len(i)
    if auto_pad not in AUTO_PADS:
        raise ValueError(
            f"ConvTranspose: auto_pad must be one of {AUTO_PADS}, got {auto_pad!r} (Unknown AutoPadType String)"
        )
    s = _attribute(strides, "strides", nd, 1)
    d = _attribute(dilations, "dilations", nd, 1)
    a = _attribute(output_padding, "output_padding", nd, 0)
    if any(v < 1 for v in s):
        raise ValueError(f"ConvTranspose: All stride values must be positive, got: {show(s)}")
    if any(v < 1 for v in d):
        raise ValueError(f"ConvTranspose: All dilation values must be positive, got: {show(d)}")
    if any(v < 0 for v in a):
        raise ValueError(f"ConvTranspose: Output padding must be non-negative. Got: {show(a)}")
    for axis, (ai, si, di) in enumerate(zip(a, s, d)):
        if ai >= max(si, di):
            raise ValueError(
                f"ConvTranspose: output_padding[{axis}] ({ai}) must be less than max(stride, dilation) "
                f"({max(si, di)}) for spatial dimension {axis}."
            )
    if pads is not None and auto_pad != "NOTSET":
        raise ValueError(
            f"ConvTranspose: The pads attribute cannot be used simultaneously with auto_pad attribute "
            f"(auto_pad={auto_pad!r}, pads={list(pads)})"
        )
    if pads is None:
        p = (0,) * (2 * nd)
    else:
        p = tuple(int_list(pads, "pads"))
        if len(p) != 2 * nd:
            raise ValueError(f"ConvTranspose: pads size ({len(p)}) does not match expected size (2 * {nd}).")
        if not runtime and any(v < 0 for v in p):
            raise ValueError(
                f"ConvTranspose: pads can take any value greater than or equal to 0 (spec), got {list(p)}; "
                "ONNX Runtime accepts negative pads as zero extension (semantics='onnxruntime')"
            )
    natural = tuple((ii - 1) * si + ai + di * (ki - 1) + 1 for ii, si, ai, di, ki in zip(i, s, a, d, k))
    upper = auto_pad == "SAME_UPPER"

    def split(total: int) -> int:
        return total // 2 if upper else total - total // 2

    if output_shape is not None:
        o = tuple(int_list(output_shape, "output_shape"))
        lengths = (nd, nd + 2) if runtime else (nd,)
        if len(o) not in lengths:
            raise ValueError(
                f"ConvTranspose: output_shape attribute has {len(o)} elements, expected "
                + " or ".join(map(str, lengths))
                + (" (the spec's output_shape holds the spatial sizes only)" if not runtime else ".")
            )
        o = o[-nd:]
        totals = tuple(n - oo for n, oo in zip(natural, o))
        if runtime:
            totals = tuple(max(t, 0) for t in totals)
        begins = tuple(split(t) for t in totals)
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        totals = tuple(n - ii * si for n, ii, si in zip(natural, i, s))
        if runtime:
            totals = tuple(max(t, 0) for t in totals)
        begins = tuple(split(t) for t in totals)
        o = tuple(n - t for n, t in zip(natural, totals))
    elif auto_pad == "VALID":
        totals, begins, o = (0,) * nd, (0,) * nd, natural
    else:
        totals = tuple(pb + pe for pb, pe in zip(p[:nd], p[nd:]))
        begins = p[:nd]
        o = tuple(n - t for n, t in zip(natural, totals))
    for axis, oo in enumerate(o):
        if oo <= 0:
            raise ValueError(f"ConvTranspose: Computed output dimension is <= 0 for dim {axis}. Input shape: {show(i)}")
    if runtime:
        for oo, t, ii, si, di, ki, ai in zip(o, totals, i, s, d, k, a):
            k_eff = di * (ki - 1) + 1
            expected = (oo + t - k_eff) // si + 1
            if expected != ii:
                if output_shape is not None:
                    raise ValueError(
                        "ConvTranspose: Explicit output_shape is inconsistent with input spatial dimensions and "
                        f"convolution parameters. Expected input size {expected} but got {ii} (output_size={oo}, "
                        f"kernel={ki}, stride={si}, dilation={di}, output_padding={ai})."
                    )
                raise ValueError(
                    "ConvTranspose: Computed output shape is inconsistent with input spatial dimensions. "
                    f"output_padding ({ai}) may be too large for stride ({si}). Expected input size {expected} but got {ii}."
                )
    return geometry(i, k, s, d, begins, o)


def output_size(
    input_size: Sequence[int],
    kernel_shape: Sequence[int],
    *,
    auto_pad: str = "NOTSET",
    dilations: Sequence[int] | None = None,
    output_padding: Sequence[int] | None = None,
    output_shape: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    semantics: Semantics = "spec",
) -> tuple[int, ...]:
    """Spatial output size of ``ConvTranspose`` (see :func:`window`).

    Examples
    --------
    The ``test_convtranspose_pads`` conformance case (natural 10x8, pads crop 1/1 and 2/2):

    >>> output_size((3, 3), (3, 3), strides=(3, 2), pads=(1, 2, 1, 2))
    (7, 3)
    """
    return window(
        input_size,
        kernel_shape,
        auto_pad=auto_pad,
        dilations=dilations,
        output_padding=output_padding,
        output_shape=output_shape,
        pads=pads,
        strides=strides,
        semantics=semantics,
    ).output_size


def conv_transpose(
    X: Any,
    W: Any,
    B: Any = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: Sequence[int] | None = None,
    group: int = 1,
    kernel_shape: Sequence[int] | None = None,
    output_padding: Sequence[int] | None = None,
    output_shape: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    semantics: Semantics = "spec",
) -> np.ndarray:
    """ONNX ``ConvTranspose`` on NumPy arrays.

    Parameters
    ----------
    X : array_like, shape (N, C, *i)
    W : array_like, shape (C, M/group, *k)
    B : array_like, shape (M,), optional
    auto_pad : {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}
    dilations, strides : sequence of int, optional
    group : int
    kernel_shape : sequence of int, optional
        Must equal ``W.shape[2:]`` when given.
    output_padding : sequence of int, optional
    output_shape : sequence of int, optional
    pads : sequence of 2*nd int, optional
        ``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]``.
    semantics : {"spec", "onnxruntime"}
        Where the specification and ONNX Runtime disagree (module docstring).

    Returns
    -------
    ndarray, shape (N, M, *o)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1., 2., 3.]).reshape(1, 1, 3)
    >>> w = np.array([10.]).reshape(1, 1, 1)
    >>> conv_transpose(x, w, auto_pad="SAME_UPPER", strides=[2])[0, 0]
    array([ 0., 10.,  0., 20.,  0., 30.])
    >>> conv_transpose(x, w, auto_pad="SAME_UPPER", strides=[2], semantics="onnxruntime")[0, 0]
    array([10.,  0., 20.,  0., 30.])
    """
    runtime = _check_semantics(semantics) == "onnxruntime"
    x = as_array(X, "X")
    w = as_array(W, "W")
    if x.ndim < 3:
        raise ValueError(
            f"ConvTranspose: Input X must have at least 3 dimensions (N x C x D1...Dn). X: {show(x.shape)}"
        )
    if w.ndim != x.ndim:
        raise ValueError(f"ConvTranspose: X num_dims does not match W num_dims. X: {show(x.shape)} W: {show(w.shape)}")
    if not is_int(group) or group <= 0:
        raise ValueError(f"ConvTranspose: group count is <= 0 group: {group}")
    g = int(group)  # type: ignore[call-overload]
    nd = x.ndim - 2
    if kernel_shape is not None and tuple(int_list(kernel_shape, "kernel_shape")) != w.shape[2:]:
        raise ValueError(
            f"ConvTranspose: kernel_shape is not compatible with W shape. kernel_shape: {list(kernel_shape)} W: {list(w.shape)}"
        )
    c = x.shape[1]
    if c % g:
        raise ValueError(f"ConvTranspose: Input channels is not divisible by group. num_input_channels: {c} group: {g}")
    if w.shape[0] != c:
        raise ValueError(
            f"ConvTranspose: filter number not equal to input channel number. filter_number: {w.shape[0]} "
            f"num_input_channels: {c}"
        )
    m = w.shape[1] * g
    b = None
    if B is not None:
        b = as_array(B, "B")
        if b.shape != (m,):
            raise ValueError(
                "ConvTranspose: Bias shape is not compatible with number of output channels. It should be a 1-D tensor "
                f"with size num_output_channels(M). Bias: {show(b.shape)} num_output_channels: {m}"
            )
    if output_shape is not None and runtime:
        shape = tuple(int_list(output_shape, "output_shape"))
        if len(shape) == nd + 2:
            output_shape = shape[2:]
    g_window = window(
        x.shape[2:],
        w.shape[2:],
        auto_pad=auto_pad,
        dilations=dilations,
        output_padding=output_padding,
        output_shape=output_shape,
        pads=pads,
        strides=strides,
        semantics=semantics,
    )
    return run_window(x, w, b, g_window, g)
