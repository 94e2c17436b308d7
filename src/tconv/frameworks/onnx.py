"""ONNX ``ConvTranspose`` (opsets 11 and 22) with every attribute: emulation and translation.

``X`` is ``(N, C, *i)``, ``W`` ``(C, M/group, *k)`` (PyTorch's layout), ``B``
``(M,)``. The output is a window (:mod:`tconv.geometry`) of the full output
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

Both agree everywhere else (``tests/frameworks/test_onnx.py`` runs ONNX Runtime and
the reference implementation side by side with these functions). The reference
implementation has defects of its own that neither mode copies: it is wrong for
``group > 1`` unless each group has one input and one output channel and there is
no bias, and it raises for ``output_shape`` below the natural size.

As a translation target (:func:`target`) ONNX cuts the windows with ``b >= 0`` and
``e > -s`` (non-negative ``pads``, and ``output_padding < stride`` for ``e < 0``,
where the spec, the reference implementation and ORT agree); any other window is
the full output plus a Slice or Pad node.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .._validate import check_choice, is_int, numeric_array, show
from ..geometry import Geometry, effective_kernel_size
from . import _code
from ._common import (
    ConvTransposeSpec,
    Source,
    Target,
    Words,
    channel_count,
    channels_first,
    check_groups,
    input_spatial_size,
    int_list,
    needs_rank,
    nonempty,
    run_window,
    source_rank,
    window_from_crop,
)

__all__ = ["AUTO_PADS", "SEMANTICS", "conv_transpose", "output_size", "window"]

#: Values of ``auto_pad``.
AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")

#: Values of ``semantics``.
SEMANTICS = ("spec", "onnxruntime")

Semantics = Literal["spec", "onnxruntime"]

#: The name translations print, and the parameters a translation source takes.
NAME = "ONNX"
PARAMETERS = (
    "auto_pad",
    "dilations",
    "group",
    "kernel_shape",
    "output_padding",
    "output_shape",
    "pads",
    "strides",
    "semantics",
)

#: How a person writes it: ``helper.make_node("ConvTranspose", ...)``, or the node as an operator call
#: (``ConvTranspose(X, W, B, strides=...)``, as the explorer page spells it).
WORDS = Words(
    prefixes=("onnx", "helper"),
    calls={
        "make_node": ("op_type", "inputs", "outputs", "name", "doc_string", "domain"),
        "ConvTranspose": ("X", "W", "B"),
    },
    dropped=("op_type", "inputs", "outputs", "name", "doc_string", "domain", "X", "W", "B"),
)


def weight_shape(
    params: dict[str, Any], input_shape: Sequence[int] | None, notes: list[str]
) -> tuple[int | str, ...] | None:
    """``W``'s shape ``(C, M/group, *kernel_shape)`` as far as the attributes give it: ``C`` from ``input_shape``,
    never ``M`` (a name); None without ``kernel_shape``.

    Examples
    --------
    >>> weight_shape({"kernel_shape": [3, 3]}, (1, 64, 8, 8), [])
    (64, 'M/group', 3, 3)
    """
    if "kernel_shape" not in params:
        return None
    kernel = tuple(int_list(params["kernel_shape"], "kernel_shape"))
    return (channel_count(input_shape, 1, "C"), "M/group", *kernel)


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
    return check_choice(semantics, "semantics", SEMANTICS)


def _attributes(
    nd: int,
    auto_pad: str,
    dilations: Sequence[int] | None,
    output_padding: Sequence[int] | None,
    pads: Sequence[int] | None,
    strides: Sequence[int] | None,
    runtime: bool,
) -> tuple[tuple[int, ...], ...]:
    """``(strides, dilations, output_padding, pads)`` with ONNX's (or ORT's) checks that need no sizes."""
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
        return s, d, a, (0,) * (2 * nd)
    p = tuple(int_list(pads, "pads"))
    if len(p) != 2 * nd:
        raise ValueError(f"ConvTranspose: pads size ({len(p)}) does not match expected size (2 * {nd}).")
    if not runtime and any(v < 0 for v in p):
        raise ValueError(
            f"ConvTranspose: pads can take any value greater than or equal to 0 (spec), got {list(p)}; "
            "ONNX Runtime accepts negative pads as zero extension (semantics='onnxruntime')"
        )
    return s, d, a, p


def _output_shape(output_shape: Sequence[int], nd: int, runtime: bool) -> tuple[int, ...]:
    o = tuple(int_list(output_shape, "output_shape"))
    lengths = (nd, nd + 2) if runtime else (nd,)
    if len(o) not in lengths:
        raise ValueError(
            f"ConvTranspose: output_shape attribute has {len(o)} elements, expected "
            + " or ".join(map(str, lengths))
            + (" (the spec's output_shape holds the spatial sizes only)" if not runtime else ".")
        )
    return o[-nd:]


def _crop(
    k_eff: int, s: int, a: int, pads: tuple[int, int], auto_pad: str, runtime: bool, excess: int | None = None
) -> tuple[int, int]:
    """ONNX's crop ``(begin, end)`` of one axis of the full output.

    The output is the natural output ``full + a`` (``output_padding`` zeros appended)
    less a total ``t``, split with the extra cell at the end for ``SAME_UPPER`` and
    at the start otherwise. ``excess`` is ``natural - output_shape`` when an output
    shape is given (the one case that depends on the input size).
    """
    if excess is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        total = k_eff + a - s if excess is None else excess  # SAME: natural - i*s
        cut = max(total, 0) if runtime else total  # ORT never crops a negative total
        begin = cut // 2 if auto_pad == "SAME_UPPER" else cut - cut // 2
        # the window keeps the output shape (natural - excess cells), or natural - cut cells for SAME
        return begin, (total if excess is not None else cut) - begin - a
    if auto_pad == "VALID":
        return 0, -a
    return pads[0], pads[1] - a


def _crops(
    k: tuple[int, ...],
    attributes: tuple[tuple[int, ...], ...],
    auto_pad: str,
    runtime: bool,
    input_size: tuple[int, ...] | None = None,
    output_shape: tuple[int, ...] | None = None,
) -> tuple[tuple[int, int], ...]:
    """ONNX's crop of every axis; an ``output_shape`` needs the ``input_size`` it is pinned to."""
    s, d, a, p = attributes
    nd = len(k)
    crop = []
    for axis, k_eff in enumerate(map(effective_kernel_size, k, d)):
        excess = None
        if output_shape is not None:
            excess = (input_size[axis] - 1) * s[axis] + a[axis] + k_eff - output_shape[axis]  # type: ignore[index]
        crop.append(_crop(k_eff, s[axis], a[axis], (p[axis], p[nd + axis]), auto_pad, runtime, excess))
    return tuple(crop)


def _runtime_excess(s: int, a: int, k_eff: int, i: int | None = None, output: int | None = None) -> int:
    """Input cells beyond ``i`` that ONNX Runtime's forward convolution maps the output back to (must be 0).

    Without an output shape that is ``a // s`` for every input size but 0, where
    C++'s division truncates ``(a - s)/s`` toward zero, so that any
    ``output_padding`` maps an empty input back to one cell.
    """
    if output is None:
        return (1 if a else 0) if i == 0 else a // s
    natural = (i - 1) * s + a + k_eff  # type: ignore[operator]
    return (max(output, natural) - k_eff) // s + 1 - i  # type: ignore[operator]


def _check_runtime(s: int, a: int, k_eff: int, k: int, d: int, i: int | None = None, output: int | None = None) -> None:
    """ONNX Runtime's check that the output maps back to the input under the forward convolution."""
    if i == 0 and output is not None:
        raise ValueError("ConvTranspose: Input spatial dimension must be positive. Got: 0 (with an output_shape)")
    extra = _runtime_excess(s, a, k_eff, i, output)
    if extra == 0:
        return
    if output is not None:
        raise ValueError(
            "ConvTranspose: Explicit output_shape is inconsistent with input spatial dimensions and "
            f"convolution parameters. Expected input size {i + extra} but got {i} (output_size={output}, "  # type: ignore[operator]
            f"kernel={k}, stride={s}, dilation={d}, output_padding={a})."
        )
    sizes = "" if i is None else f" Expected input size {i + extra} but got {i}."
    raise ValueError(
        "ConvTranspose: Computed output shape is inconsistent with input spatial dimensions. "
        f"output_padding ({a}) may be too large for stride ({s}).{sizes}"
    )


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
    i, k = tuple(input_size), tuple(kernel_shape)
    attributes = _attributes(len(k), auto_pad, dilations, output_padding, pads, strides, runtime)
    o = None if output_shape is None else _output_shape(output_shape, len(k), runtime)
    crop = _crops(k, attributes, auto_pad, runtime, i, o)
    s, d, a, _ = attributes
    g = window_from_crop(i, k, s, d, crop)
    for axis, oo in enumerate(g.output_size):
        if oo <= 0:
            raise ValueError(f"ConvTranspose: Computed output dimension is <= 0 for dim {axis}. Input shape: {show(i)}")
    if runtime:
        for axis, k_eff in enumerate(map(effective_kernel_size, k, d)):
            _check_runtime(s[axis], a[axis], k_eff, k[axis], d[axis], i[axis], None if o is None else o[axis])
    return g


def output_size(input_size: Sequence[int], kernel_shape: Sequence[int], **attributes: Any) -> tuple[int, ...]:
    """Spatial output size of ``ConvTranspose``: the keyword arguments of :func:`window`, which checks them.

    Examples
    --------
    The ``test_convtranspose_pads`` conformance case (natural 10x8, pads crop 1/1 and 2/2):

    >>> output_size((3, 3), (3, 3), strides=(3, 2), pads=(1, 2, 1, 2))
    (7, 3)
    """
    return window(input_size, kernel_shape, **attributes).output_size


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
    _check_semantics(semantics)
    x = numeric_array(X, "X")
    w = numeric_array(W, "W")
    if x.ndim < 3:
        raise ValueError(
            f"ConvTranspose: Input X must have at least 3 dimensions (N x C x D1...Dn). X: {show(x.shape)}"
        )
    if w.ndim < 3:
        raise ValueError(
            f"ConvTranspose: Filter W must have at least 3 dimensions (C x M/group x k1...kn). W: {show(w.shape)}"
        )
    if w.ndim != x.ndim:
        raise ValueError(f"ConvTranspose: X num_dims does not match W num_dims. X: {show(x.shape)} W: {show(w.shape)}")
    if not is_int(group) or group <= 0:
        raise ValueError(f"ConvTranspose: group count is <= 0 group: {group}")
    g = int(group)
    if kernel_shape is not None and tuple(int_list(kernel_shape, "kernel_shape")) != w.shape[2:]:
        raise ValueError(
            "ConvTranspose: kernel_shape is not compatible with W shape. "
            f"kernel_shape: {list(kernel_shape)} W: {list(w.shape)}"
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
        b = numeric_array(B, "B")
        if b.shape != (m,):
            raise ValueError(
                "ConvTranspose: Bias shape is not compatible with number of output channels. It should be a 1-D tensor "
                f"with size num_output_channels(M). Bias: {show(b.shape)} num_output_channels: {m}"
            )
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


# --- translation ---------------------------------------------------------------------------------------


def _post_nodes(post: tuple[tuple[int, int], ...]) -> tuple[list[int] | None, list[list[int]] | None]:
    """The Pad node's ``pads`` (zeros to append) and the Slice node's ``starts``, ``ends``, ``axes`` after the call."""
    pads = None
    if any(b < 0 or e < 0 for b, e in post):
        pads = [0, 0] + [max(-b, 0) for b, _ in post] + [0, 0] + [max(-e, 0) for _, e in post]
    cropped = [j for j, (b, e) in enumerate(post) if b > 0 or e > 0]
    slices = None
    if cropped:
        starts = [max(post[j][0], 0) for j in cropped]
        ends = [-post[j][1] if post[j][1] > 0 else 2**62 for j in cropped]
        slices = [starts, ends, [2 + j for j in cropped]]
    return pads, slices


def target(spec: ConvTransposeSpec) -> Target:
    """One ``ConvTranspose`` node for the window of ``spec``, and Pad/Slice nodes when it cannot cut it."""
    needs_rank(spec, NAME, range(1, 1 << 30))
    nd = spec.ndim
    begins, ends, output_padding, post = [], [], [], []
    for s, (b, e) in zip(spec.stride, spec.crop):
        # exact: non-negative pads, and output_padding < stride for an extension at the end (where the spec,
        # the reference implementation and ORT agree); otherwise the full output and a crop/pad afterwards
        # (any partial crop could leave ONNX an empty output for small inputs)
        pb, pe, a = (b, max(e, 0), max(-e, 0)) if b >= 0 and e > -s else (0, 0, 0)
        begins.append(pb)
        ends.append(pe)
        output_padding.append(a)
        post.append((b - pb, e - (pe - a)))
    post_t = tuple(post)
    bias_after = any(b < 0 or e < 0 for b, e in post_t)
    arguments = dict(
        kernel_shape=list(spec.kernel_size),
        strides=list(spec.stride),
        pads=begins + ends,
        output_padding=output_padding,
        dilations=list(spec.dilation),
        group=spec.groups,
    )
    notes = []
    if any(b or e for b, e in post_t):
        notes.append(_code.post_note(NAME, post_t, "pads must be non-negative and output_padding less than the stride"))
    if bias_after:
        notes.append("The bias is added after the pad step (an Add node), so that appended cells get it too.")
    pads, slices = _post_nodes(post_t)

    def body(weight: str, bias: str | None) -> list[str]:
        """The nodes in operator notation (``y = Op(inputs, attribute=value, ...)``)."""
        inputs = f"x, {weight}" + (f", {bias}" if bias and not bias_after else "")
        lines = [f"y = ConvTranspose({inputs}, {_code.keywords(arguments)})"]
        if pads is not None:
            lines.append(f"y = Pad(y, pads={pads})  # append zeros")
        if slices is not None:
            lines.append(f"y = Slice(y, starts={slices[0]}, ends={slices[1]}, axes={slices[2]})  # crop {post_t}")
        return lines

    def program(convert_weight: str) -> str:
        lines = [
            'initializers = [numpy_helper.from_array(np.asarray(weight, dtype=np.float32), name + ".W")]',
            'inputs = [input, name + ".W"]',
        ]
        if not bias_after:
            lines += [
                "if bias is not None:",
                '    initializers.append(numpy_helper.from_array(np.asarray(bias, dtype=np.float32), name + ".B"))',
                '    inputs.append(name + ".B")',
            ]
        lines += [
            f'nodes = [helper.make_node("ConvTranspose", inputs, [name + ".y0"], {_code.keywords(arguments)})]',
        ]
        if pads is not None:
            lines += [
                f'initializers.append(numpy_helper.from_array(np.array({pads}, dtype=np.int64), name + ".pads"))',
                'nodes.append(helper.make_node("Pad", [nodes[-1].output[0], name + ".pads"], [name + ".y1"]))'
                "  # append zeros",
            ]
        if slices is not None:
            starts, stops, axes = slices
            lines += [
                "initializers += [",
                f'    numpy_helper.from_array(np.array({starts}, dtype=np.int64), name + ".starts"),',
                f'    numpy_helper.from_array(np.array({stops}, dtype=np.int64), name + ".ends"),',
                f'    numpy_helper.from_array(np.array({axes}, dtype=np.int64), name + ".axes"),',
                "]",
                'inputs = [nodes[-1].output[0], name + ".starts", name + ".ends", name + ".axes"]',
                f'nodes.append(helper.make_node("Slice", inputs, [name + ".y2"]))  # crop {post_t}',
            ]
        if bias_after:
            lines += [
                "if bias is not None:  # after the zeros: they get it too",
                f"    b = np.asarray(bias, dtype=np.float32).reshape(-1{', 1' * nd})",
                '    initializers.append(numpy_helper.from_array(b, name + ".B"))',
                '    nodes.append(helper.make_node("Add", [nodes[-1].output[0], name + ".B"], [name + ".y3"]))',
            ]
        lines += [
            'nodes.append(helper.make_node("Identity", [nodes[-1].output[0]], [output]))',
            "return nodes, initializers",
        ]
        doc = (
            "The nodes from input (N, C_in, *spatial) to output, for a graph: ConvTranspose and what this window "
            "needs after it; and their initializers (the weight, the bias, float32), named after name."
        )
        make_nodes = _code.function("make_nodes", doc, lines, 'weight, bias=None, input="X", output="Y", name="up"')
        model = [
            "nodes, initializers = make_nodes(weight, bias)",
            'x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, None)',
            'y_info = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)',
            'graph = helper.make_graph(nodes, "conv_transpose", [x_info], [y_info], initializer=initializers)',
            "# opset 22, IR version 10: readable by onnxruntime >= 1.20",
            'return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)',
        ]
        doc = "A model of these nodes alone: input X (N, C_in, *spatial) float32, output Y."
        make_model = _code.function("make_model", doc, model, signature="weight, bias=None")
        run = [
            "session = onnxruntime.InferenceSession(make_model(weight, bias).SerializeToString(), "
            'providers=["CPUExecutionProvider"])',
            'return session.run(None, {"X": np.asarray(x, dtype=np.float32)})[0]',
        ]
        imports = ["import numpy as np", "import onnxruntime", "from onnx import TensorProto, helper, numpy_helper"]
        doc = "x: (N, C_in, *spatial) NumPy array; runs the model with onnxruntime."
        return _code.program(imports, convert_weight, doc, run, make_nodes, make_model)

    attributes = {k: v for k, v in arguments.items() if k != "group"}
    return Target(
        framework="onnx",
        function="onnx ConvTranspose",
        arguments=arguments,
        layout=channels_first(nd),
        post=post_t,
        run=lambda x, w, b: conv_transpose(x, w, b, **attributes, group=spec.groups),  # type: ignore[arg-type]
        body=body,
        bias_after=bias_after,
        notes=notes,
        program=program,
    )


def source(params: dict[str, Any], weight_shape: tuple[int, ...], input_shape: Sequence[int] | None) -> Source:
    """A ``ConvTranspose`` node's attributes read into a spec (``semantics`` as for :func:`conv_transpose`)."""
    nd = source_rank(weight_shape, range(1, 1 << 30), "ONNX ConvTranspose needs at least one spatial axis, got W")
    attributes = {k: v for k, v in params.items() if k not in ("group", "semantics")}
    group = params.get("group", 1)
    semantics = params.get("semantics", "spec")
    layout = channels_first(nd)
    size = input_spatial_size(input_shape, layout)
    output_shape = attributes.get("output_shape")
    if output_shape is not None and size is None:
        raise ValueError("ONNX's output_shape pins the window to one input size: pass input_shape")
    kernel_shape = attributes.pop("kernel_shape", None)
    kernel = weight_shape[2:]
    if kernel_shape is not None and tuple(kernel_shape) != tuple(kernel):
        raise ValueError(
            "ConvTranspose: kernel_shape is not compatible with W shape. "
            f"kernel_shape: {list(kernel_shape)} W: {list(weight_shape)}"
        )
    if size is not None:
        g = window(size, kernel, semantics=semantics, **attributes)  # ONNX's checks at this input size
        crop, s, d = g.padding_pairs, g.stride, g.dilation
    else:
        runtime = _check_semantics(semantics) == "onnxruntime"
        auto_pad = attributes.get("auto_pad", "NOTSET")
        dilations, output_padding = attributes.get("dilations"), attributes.get("output_padding")
        checked = _attributes(
            nd, auto_pad, dilations, output_padding, attributes.get("pads"), attributes.get("strides"), runtime
        )
        crop = _crops(kernel, checked, auto_pad, runtime)
        s, d, a, _ = checked
        if runtime:  # ORT's check that the output maps back to the input, whatever the input size
            for k, si, di, ai in zip(kernel, s, d, a):
                _check_runtime(si, ai, effective_kernel_size(k, di), k, di)
    group = check_groups(group, "group", in_channels=weight_shape[0])
    spec = ConvTransposeSpec(
        kernel, s, d, crop, weight_shape[0], weight_shape[1] * group, group, size if output_shape is not None else None
    )
    call = (
        "ConvTranspose("
        + ", ".join(f"{k}={v!r}" for k, v in {**attributes, "group": group}.items())
        + f")  # semantics={semantics!r}"
    )
    return Source(
        "onnx",
        nonempty(spec, size),
        call,
        layout,
        [],
        weight_shape,
        lambda x, w, b: conv_transpose(x, w, b, group=group, semantics=semantics, **attributes),
    )
