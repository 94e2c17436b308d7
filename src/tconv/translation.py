"""Translate a transposed convolution from one framework's convention to another's, exactly.

:func:`translate` reads a layer or call in its source framework's own argument
names (``params``) and returns a :class:`TranslationPlan` for the target
framework: the target's arguments, the weight transform (permute, flip, regroup,
dilate), the data layout, and -- when the target cannot express the source's
window -- the crop or zero-pad to apply after the target's call, stated plainly.
A plan runs on NumPy arrays (:meth:`TranslationPlan.apply`, through
:mod:`tconv.compat`) and prints itself as code for the target framework
(:meth:`TranslationPlan.to_code`); the tests run the source in its framework and
the printed code in the target framework for every pair.

How it works: every framework's transposed convolution is a window of one full
output (:mod:`tconv.geometry`). The source's arguments are resolved into that
window -- a crop ``(begin, end)`` per axis, negative meaning zero extension --
plus the kernel, stride, dilation and channels (a :class:`ConvTransposeSpec`), and
the target's arguments are chosen to cut the same window. Both sides live in the
framework's module of :mod:`tconv.frameworks` (``source(...)`` and
``target(spec)``); this module runs them. The frameworks' limits:

========== ================================================================================
target     which windows it can cut (``k_eff = d*(k - 1) + 1``, crops ``b``/``e``)
========== ================================================================================
tconv      every window (``padding=((b, e), ...)``)
jax        every window (``lax.conv_transpose`` pads ``(k_eff - 1 - b, k_eff - 1 - e)``)
torch      ``b >= 0`` and ``0 <= b - e < max(s, d)`` (``padding=b``, ``output_padding=b - e``)
onnx       ``b >= 0`` and ``e > -s`` (``pads``, and ``output_padding`` for ``e < 0``)
tensorflow VALID (``b = 0``, ``-s < e <= 0``), SAME (``b = floor((b + e)/2)`` with
           ``k_eff - s <= b + e < k_eff``), or, in 2-d, explicit ``b >= 0``, ``e > -s``
keras      the windows of ``"valid"``/``"same"`` with ``output_padding`` ``None`` or ``< s``
========== ================================================================================

Anything else gets the nearest call plus an explicit crop/pad step. Groups are
expanded into a dense block-diagonal kernel for TensorFlow and Keras (exact, at
``groups`` times the work), and JAX uses ``conv_general_dilated`` with
``feature_group_count``. Dilation is written into the kernel for TensorFlow (whose
CPU kernels reject ``dilations > 1`` outside oneDNN's float32 path) and for Keras
(which forbids it with a stride, and runs on those kernels at stride 1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import is_int, numeric_array, positive_int, show
from .frameworks import jax, keras, onnx, tconv, tensorflow, torch
from .frameworks._common import (
    ConvTransposeSpec,
    Source,
    Target,
    check_shape,
    input_channels,
    input_spatial_size,
)
from .weights import run_steps, steps_code

__all__ = [
    "FRAMEWORKS",
    "Call",
    "accepted_parameters",
    "possessive",
    "weight_layout",
    "ConvTransposeSpec",
    "MissingWeightShape",
    "TranslationPlan",
    "output_size",
    "read_call",
    "resolve",
    "translate",
]

#: The module of each convention :func:`translate` reads and writes, in this order.
_MODULES = {"tconv": tconv, "torch": torch, "tensorflow": tensorflow, "keras": keras, "jax": jax, "onnx": onnx}

#: The conventions :func:`translate` reads and writes.
FRAMEWORKS = tuple(_MODULES)

#: The parameter names each source accepts (its own argument names).
PARAMETERS = {name: module.PARAMETERS for name, module in _MODULES.items()}


def _name(framework: str) -> str:
    """The framework's name in words (PyTorch, TensorFlow, ...)."""
    return _MODULES[framework].NAME


def accepted_parameters(source: str) -> tuple[str, ...]:
    """The names a source's ``params`` may hold: its parameters, then the words of its layer."""
    source = _framework(source, "source")
    words = _MODULES[source].WORDS
    return tuple(dict.fromkeys((*PARAMETERS[source], *words.layer, *words.unmodelled)))


def _check_keys(params: Mapping[str, Any], source: str) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be a mapping of {_name(source)}'s argument names to values, got {type(params).__name__}"
        )
    unknown = sorted(set(params) - set(accepted_parameters(source)))
    if unknown:
        raise ValueError(
            f"unknown {source} parameter(s) {unknown}; {source} takes {list(accepted_parameters(source))} "
            "(the weight's and the input's shapes are given apart: weight_shape= and input_shape= in Python, "
            "--weight-shape and --input-shape on the command line)"
        )
    return dict(params)


def _framework(name: object, parameter: str) -> str:
    if not isinstance(name, str) or name not in FRAMEWORKS:
        raise ValueError(f"{parameter} must be one of {FRAMEWORKS}, got {name!r}")
    return name


class MissingWeightShape(ValueError):
    """The source's arguments do not give the whole weight shape, and none was given.

    ``partial`` is what they give, with a name for each entry they do not (``"C_in"``)
    or None when they give nothing; ``framework`` is the source.
    """

    def __init__(self, framework: str, partial: tuple[int | str, ...] | None) -> None:
        self.framework = framework
        self.partial = partial
        if partial is None:
            what = f"{possessive(framework)} arguments do not give the weight's shape"
        else:
            what = f"{possessive(framework)} arguments give the weight shape {_show_partial(partial)} but not its " + (
                ", ".join(v for v in partial if isinstance(v, str))
            )
        super().__init__(f"{what}: pass weight_shape= (the source's weight shape, {_layout_of(framework)})")


def possessive(framework: str) -> str:
    """``PyTorch's``, ``Keras'``."""
    name = _name(_framework(framework, "framework"))
    return name + ("'" if name.endswith("s") else "'s")


def _show_partial(partial: Sequence[int | str]) -> str:
    return "(" + ", ".join(str(v) for v in partial) + ")"


def weight_layout(framework: str) -> str:
    """The source's weight layout in words, ``(C_in, C_out/groups, *k)``."""
    return _layout_of(_framework(framework, "framework"))


def _layout_of(framework: str) -> str:
    from .weights import WEIGHT_LAYOUTS

    return {"jax": "in its dimension numbers' layout, (*k, I, O) by default"}.get(
        framework, WEIGHT_LAYOUTS.get(framework, WEIGHT_LAYOUTS["torch"])
    )


def _weight_shape(
    params: dict[str, Any], source: str, weight_shape: Sequence[int] | None, input_shape: Any, notes: list[str]
) -> tuple[int, ...]:
    """The weight shape: given, or read off the source's arguments (:class:`MissingWeightShape` when they give
    only part of it); a given one must agree with the arguments."""
    described = _MODULES[source].weight_shape(params, input_shape, notes)
    if weight_shape is None:
        if described is None or any(isinstance(v, str) for v in described):
            raise MissingWeightShape(source, described)
        return tuple(int(v) for v in described)
    shape = tuple(int(v) for v in weight_shape)
    if described is not None and (
        len(described) != len(shape) or any(d != v for d, v in zip(described, shape) if not isinstance(d, str))
    ):
        raise ValueError(
            f"weight_shape {show(shape)} is not the weight of these arguments, which give {_show_partial(described)} "
            f"({_layout_of(source)})"
        )
    return shape


def _source(
    params: Mapping[str, Any],
    source: str,
    weight_shape: Sequence[int] | None,
    input_shape: Any,
    ndim: int | None = None,
) -> Source:
    """The source read into a spec; ``weight_shape``, ``input_shape`` and ``ndim`` (the spatial axes a call's
    name says, :attr:`Call.ndim`) checked here, once for every framework."""
    if ndim is not None:
        ndim = positive_int(ndim, "ndim")
    source = _framework(source, "source")
    module = _MODULES[source]
    if weight_shape is not None:
        weight_shape = check_shape(weight_shape, "weight_shape")
        if len(weight_shape) < 2:
            raise ValueError(f"weight_shape must have the two channel axes, got {show(weight_shape)}")
    if input_shape is not None:
        input_shape = check_shape(input_shape, "input_shape", minimum=0)
    checked = _check_keys(params, source)
    notes: list[str] = []
    shape = _weight_shape(checked, source, weight_shape, input_shape, notes)
    if len(shape) < 2 or not all(v > 0 for v in shape):
        raise ValueError(f"weight_shape must be positive sizes with the two channel axes, got {show(shape)}")
    left_out = [name for name in checked if name in module.WORDS.unmodelled and checked[name] is not None]
    if left_out:
        notes.append(
            f"{', '.join(f'{k}={checked[k]!r}' for k in left_out)}: not part of the transposed convolution; the "
            "plan leaves it out (apply an activation after the call)"
        )
    own = {k: v for k, v in checked.items() if k in PARAMETERS[source]}  # the layer's words are in the shape now
    resolved = module.source(own, shape, input_shape)
    resolved.notes[:0] = notes
    if ndim is not None and resolved.spec.ndim != ndim:
        raise ValueError(
            f"the call's name says {ndim} spatial axes, but its arguments give {resolved.spec.ndim}: "
            f"kernel size {show(resolved.spec.kernel_size)}, weight shape {show(shape)}"
        )
    if input_shape is not None:
        channels = input_channels(input_shape, resolved.layout, resolved.unbatched)
        if channels != resolved.spec.in_channels:
            raise ValueError(
                f"input_shape {show(input_shape)} has {channels} channels in {_name(source)}'s layout, but "
                f"weight_shape {show(shape)} takes {resolved.spec.in_channels} input channels"
            )
    return resolved


@dataclass
class Call:
    """A call as a person wrote it, read into a framework's arguments (:func:`read_call`).

    ``params`` are the source's arguments by name (positional ones named, the
    arrays and other arguments that do not change the numbers dropped);
    ``kernel_size`` carries the rank a name such as ``ConvTranspose2d`` says, and ``ndim``
    holds it (None for a name without one, such as ``lax.conv_transpose``): pass it to
    :func:`resolve` or :func:`translate`, which check the weight shape against it.
    """

    framework: str
    params: dict[str, Any]
    notes: list[str]
    ndim: int | None = None


def read_call(
    callee: str, args: Sequence[Any] = (), keywords: Mapping[str, Any] | None = None, framework: str | None = None
) -> Call:
    """Read a call as written in its framework: the callee's dotted name, positional and keyword arguments.

    The callee names the framework (``torch.nn.ConvTranspose2d``,
    ``keras.layers.Conv2DTranspose``, ``tf.nn.conv2d_transpose``,
    ``lax.conv_transpose``, ``helper.make_node("ConvTranspose", ...)``,
    ``tconv.conv_transpose``); ``framework`` settles a name several frameworks
    use (``conv_transpose``).

    Examples
    --------
    >>> call = read_call("torch.nn.ConvTranspose2d", (64, 32, 3), {"stride": 2, "padding": 1})
    >>> call.framework, call.params
    ('torch', {'in_channels': 64, 'out_channels': 32, 'kernel_size': (3, 3), 'stride': 2, 'padding': 1})
    """
    if not isinstance(callee, str) or not callee.strip():
        raise TypeError(
            f"callee must be the called name as written (a str such as 'nn.ConvTranspose2d'), got {callee!r}"
        )
    if not isinstance(args, (list, tuple)):
        raise TypeError(f"args must be the call's positional arguments (a list or tuple), got {args!r}")
    if keywords is not None and not isinstance(keywords, Mapping):
        raise TypeError(f"keywords must be the call's keyword arguments (a mapping), got {keywords!r}")
    keywords = dict(keywords or {})
    parts = callee.split(".")
    last = parts[-1]
    candidates = []
    for name, module in _MODULES.items():
        if framework is not None and name != framework:
            continue
        for pattern, positional in module.WORDS.calls.items():
            match = re.fullmatch(pattern.replace("{n}", "([1-9])"), last)
            if match:
                prefixed = len(parts) > 1 and parts[0] in module.WORDS.prefixes
                candidates.append((prefixed, name, positional, int(match.group(1)) if match.groups() else None))
    if framework is not None:
        framework = _framework(framework, "framework")
    if not candidates:
        known = sorted({p.replace("{n}", "N") for m in _MODULES.values() for p in m.WORDS.calls})
        where = f"{_name(framework)}'s calls" if framework else "the calls tconv reads"
        raise ValueError(f"{callee} is not a transposed convolution tconv reads: {where} are {known}")
    if len(parts) > 1 and any(c[0] for c in candidates):
        candidates = [c for c in candidates if c[0]]
    if len({c[1] for c in candidates}) > 1:
        preferred = [c for c in candidates if c[1] == "torch"]  # ConvTranspose2d without a prefix: PyTorch's
        if not preferred:
            names = sorted({c[1] for c in candidates})
            raise ValueError(f"{callee} is written the same in {names}: say which (its module, or the source)")
        candidates = preferred
    _, name, positional, rank = candidates[0]
    words = _MODULES[name].WORDS
    if len(args) > len(positional):
        raise ValueError(
            f"{callee} takes at most {len(positional)} positional arguments {positional}, got {len(args)} in args"
        )
    params = dict(zip(positional, args))
    for key, value in keywords.items():
        if key in params:
            raise ValueError(f"{callee} got multiple values for argument {key!r} (in args and in keywords)")
        params[key] = value
    if name == "onnx" and last == "make_node" and params.get("op_type", "ConvTranspose") != "ConvTranspose":
        raise ValueError(
            f"make_node's op_type must be 'ConvTranspose' for a transposed convolution, got {params['op_type']!r}"
        )
    params = {k: v for k, v in params.items() if k not in words.dropped}
    kernel_size = params.get("kernel_size")
    if rank is not None and is_int(kernel_size):
        params["kernel_size"] = (kernel_size,) * rank
    elif rank is not None and isinstance(kernel_size, (list, tuple)) and len(kernel_size) != rank:
        raise ValueError(
            f"{callee} has {rank} spatial axes, but kernel_size={show(kernel_size)} has {len(kernel_size)}: "
            f"give {rank} sizes, or one for every axis"
        )
    return Call(name, params, [], rank)


def resolve(
    params: Mapping[str, Any],
    source: str,
    *,
    weight_shape: Sequence[int] | None = None,
    input_shape: Sequence[int] | None = None,
    ndim: int | None = None,
) -> ConvTransposeSpec:
    """The framework-free :class:`ConvTransposeSpec` of a transposed convolution given in ``source``'s terms.

    Parameters as for :func:`translate` (``ndim``: the spatial axes a call's name gives, checked).

    Examples
    --------
    Keras' ``"same"`` for a 3-tap kernel and stride 2 crops 0 cells at the start and
    1 at the end of the full output:

    >>> resolve({"strides": 2, "padding": "same"}, "keras", weight_shape=(3, 8, 4)).crop
    ((0, 1),)
    """
    return _source(params, source, weight_shape, input_shape, ndim).spec


def output_size(
    params: Mapping[str, Any],
    framework: str,
    *,
    weight_shape: Sequence[int] | None = None,
    input_shape: Sequence[int],
) -> tuple[int, ...]:
    """The spatial output size of a transposed convolution under ``framework``'s rules (and checks).

    Parameters as for :func:`translate`; ``input_shape`` is required.

    Examples
    --------
    The same 2x2 kernel and stride 2 on a 6-wide input, in three conventions:

    >>> output_size({"stride": 2}, "torch", weight_shape=(1, 1, 2), input_shape=(1, 1, 6))
    (12,)
    >>> output_size({"strides": 2, "padding": "same", "output_padding": 0}, "keras", weight_shape=(2, 1, 1),
    ...             input_shape=(1, 6, 1))
    (10,)
    >>> output_size({"strides": [2], "auto_pad": "SAME_UPPER", "output_padding": [1]}, "onnx", weight_shape=(1, 1, 2),
    ...             input_shape=(1, 1, 6))
    (12,)
    """
    if input_shape is None:
        raise ValueError("output_size needs input_shape: the output size depends on the input's")
    resolved = _source(params, _framework(framework, "framework"), weight_shape, input_shape)
    size = input_spatial_size(input_shape, resolved.layout, resolved.unbatched)
    return resolved.spec.output_size(size)  # type: ignore[arg-type]


def translate(
    params: Mapping[str, Any],
    source: str,
    target: str,
    *,
    weight_shape: Sequence[int] | None = None,
    input_shape: Sequence[int] | None = None,
    ndim: int | None = None,
) -> TranslationPlan:
    """Translate a transposed convolution from ``source``'s convention to ``target``'s, exactly.

    Parameters
    ----------
    params : mapping
        The source call's arguments in its own names (see ``PARAMETERS``), e.g.
        ``{"strides": 2, "padding": "same"}`` for Keras or ``{"stride": 2,
        "padding": 1}`` for PyTorch, or the layer's (``{"in_channels": 64,
        "out_channels": 32, "kernel_size": 3, ...}`` for PyTorch's module,
        ``{"filters": 32, "kernel_size": 3, ...}`` for Keras'; :func:`read_call` reads
        a call as written). Omitted arguments take the source's defaults.
    source, target : {"tconv", "torch", "tensorflow", "keras", "jax", "onnx"}
    weight_shape : sequence of int, optional
        The source's weight (kernel, filters) shape in the source's layout: it gives
        the rank, kernel size and channels. Read off ``params`` when they describe
        the layer (PyTorch's, tconv's and Keras' layers; Keras' input channels come
        from ``input_shape``); :class:`MissingWeightShape` says what is missing.
    input_shape : sequence of int, optional
        The source's input shape, in the source's data layout. Required when the
        source pins its output size (TensorFlow's ``output_shape``, ONNX's
        ``output_shape``, PyTorch's ``output_size``, tconv's ``output_size``); the plan
        then holds for that input size only.
    ndim : int, optional
        The number of spatial axes the call's name gives (2 for ``ConvTranspose2d``,
        :attr:`Call.ndim`); a ``ValueError`` when the arguments and ``weight_shape``
        give another.

    Returns
    -------
    TranslationPlan

    Examples
    --------
    Keras' ``"same"`` with a 3x3 kernel and stride 2 is not expressible in PyTorch:
    the plan runs the full output and crops one cell at the end of each axis.

    >>> import tconv
    >>> plan = tconv.translate({"strides": 2, "padding": "same"}, "keras", "torch", weight_shape=(3, 3, 8, 4))
    >>> plan.exact
    False
    >>> plan.arguments
    {'in_channels': 4, 'out_channels': 8, 'kernel_size': (3, 3), 'stride': (2, 2), 'padding': (0, 0), 'output_padding': (0, 0), 'groups': 1, 'dilation': (1, 1)}
    >>> plan.post_crop
    ((0, 1), (0, 1))

    The same layer with a 4x4 kernel is exact: ``padding=1``.

    >>> tconv.translate({"strides": 2, "padding": "same"}, "keras", "torch", weight_shape=(4, 4, 8, 4)).arguments[
    ...     "padding"
    ... ]
    (1, 1)

    A layer as written (:func:`read_call` reads the call's text into these arguments) gives its weight's shape:

    >>> tconv.translate({"in_channels": 64, "out_channels": 32, "kernel_size": (3, 3), "stride": 2}, "torch",
    ...                 "keras").arguments["filters"]
    32
    """  # noqa: E501 (a dict a doctest shows whole)
    source = _framework(source, "source")
    target = _framework(target, "target")
    resolved = _source(params, source, weight_shape, input_shape, ndim)
    return TranslationPlan(resolved, _MODULES[target].target(resolved.spec))


def _crop_pad(y: np.ndarray, crops: tuple[tuple[int, int], ...], spatial_axes: Sequence[int]) -> np.ndarray:
    """Crop (positive) or zero-extend (negative) ``y`` along ``spatial_axes`` by ``(begin, end)`` pairs.

    Zero-extend first, then crop: the crops then never run past the array (a window may lie
    entirely in the zero region, e.g. ``(-2, 6)`` of 5 cells is one zero).
    """
    pads = [(0, 0)] * y.ndim
    for axis, (b, e) in zip(spatial_axes, crops):
        pads[axis] = (max(-b, 0), max(-e, 0))
    y = np.pad(y, pads)
    index = [slice(None)] * y.ndim
    for axis, (b, e) in zip(spatial_axes, crops):
        index[axis] = slice(max(b, 0), y.shape[axis] - max(e, 0))
    return y[tuple(index)]


class TranslationPlan:
    """How to compute a source framework's transposed convolution in a target framework.

    Built by :func:`translate`. Attributes describe the plan; :meth:`apply` runs it
    on NumPy arrays given in the *source*'s conventions and returns what the source
    returns; :meth:`to_code` prints it for the target framework.

    Attributes
    ----------
    source, target : str
    spec : ConvTransposeSpec
        The framework-free description both sides compute.
    function : str
        The target function or layer.
    arguments : dict
        The target's arguments, in its names.
    weight_steps : list of str
        The weight transform from the source's layout to the target's, in words.
    post_crop : tuple of (int, int) or None
        Cells to crop from the ``(begin, end)`` of each spatial axis of the target's
        output (negative: zeros to append) because the target cannot cut the
        source's window itself; None when the target's call is exact.
    bias_after : bool
        True when the bias is added after the target's call (the target has none,
        or zero-extended cells need it).
    exact : bool
        ``post_crop is None``: the target's call alone gives the source's result.
    notes : list of str
        Plain statements of what the plan does and why.
    """

    def __init__(self, source: Source, target: Target) -> None:
        self._source = source
        self._target = target
        self.source = source.framework
        self.target = target.framework
        self.spec = source.spec
        self.function = target.function
        self.arguments = target.arguments
        self.post_crop = target.post if any(b or e for b, e in target.post) else None
        self.bias_after = target.bias_after
        self.exact = self.post_crop is None
        self.source_call = source.call
        self._weight_steps = source.weight_steps + target.weight_steps
        self.weight_steps = [step.describe() for step in self._weight_steps]
        self.notes = source.notes + target.notes

    def __repr__(self) -> str:
        state = "exact" if self.exact else f"post_crop={self.post_crop}"
        return f"<TranslationPlan {self.source} -> {self.target}: {self.function}, {state}>"

    # arrays ----------------------------------------------------------------------------------------
    def convert_weight(self, weight: Any) -> np.ndarray:
        """The source's weight in the target's layout (every step of :attr:`weight_steps`)."""
        w = numeric_array(weight, "weight")
        if w.shape != self._source.weight_shape:
            raise ValueError(
                f"weight must have the source's shape {show(self._source.weight_shape)}, got {show(w.shape)}"
            )
        return run_steps(self._weight_steps, w)

    def _batched(self, x: np.ndarray) -> tuple[np.ndarray, bool]:
        nd = self.spec.ndim
        if self._source.unbatched and x.ndim == nd + 1:
            return x[None], False
        if x.ndim != nd + 2:
            raise ValueError(
                f"input must have {nd + 2} dimensions in the {self.source} layout, got shape {show(x.shape)}"
            )
        return x, True

    def input_to_target(self, input: Any) -> np.ndarray:
        """A (batched) input in the source's data layout, moved into the target's."""
        x, _ = self._batched(np.asarray(input))
        canonical = np.transpose(x, self._source.layout.to_tconv)  # (N, C, *S)
        return np.transpose(canonical, self._target.layout.from_tconv)

    def output_to_source(self, output: Any) -> np.ndarray:
        """The target's (batched) output moved into the source's output layout."""
        canonical = np.transpose(np.asarray(output), self._target.layout.to_tconv)  # (N, C, *S)
        return np.transpose(canonical, self._source.layout.from_tconv)

    def apply(self, input: Any, weight: Any, bias: Any = None) -> np.ndarray:
        """Run the plan: the source's result, computed the target's way (through :mod:`tconv.compat`).

        Parameters
        ----------
        input : array_like
            In the source's data layout (unbatched where the source allows it).
        weight : array_like
            In the source's layout, of the plan's ``weight_shape``.
        bias : array_like, shape (C_out,), optional
            Added to every output cell, as every framework does (for TensorFlow and
            JAX, whose ops have no bias, this is the usual ``y + bias``).
        """
        x, batched = self._batched(numeric_array(input, "input"))
        channels = np.transpose(x, self._source.layout.to_tconv).shape[1]
        if channels != self.spec.in_channels:
            raise ValueError(
                f"input must have {self.spec.in_channels} channels in the {self.source} layout (the plan's weight "
                f"takes them), got {channels} in an input of shape {show(x.shape)}"
            )
        if self.spec.input_size is not None:
            size = np.transpose(x, self._source.layout.to_tconv).shape[2:]
            if tuple(size) != self.spec.input_size:
                raise ValueError(
                    f"this plan holds for input size {show(self.spec.input_size)} (the source pins its output "
                    f"size), got an input of spatial size {show(tuple(size))}"
                )
        x_t = self.input_to_target(x)
        w_t = self.convert_weight(weight)
        b = None if bias is None else numeric_array(bias, "bias")
        if b is not None and b.shape != (self.spec.out_channels,):
            raise ValueError(f"bias must have shape ({self.spec.out_channels},), got {show(b.shape)}")
        y_t = self._target.run(x_t, w_t, None if self.bias_after else b)
        if self.post_crop is not None:
            y_t = _crop_pad(y_t, self.post_crop, self._target.layout.spatial_axes)
        if self.bias_after and b is not None:
            shape = [1] * y_t.ndim
            shape[self._target.layout.channel_axis] = -1
            y_t = y_t + b.reshape(shape)
        y = self.output_to_source(y_t)
        return y if batched else y[0]

    # words and code --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-compatible data."""
        spec = self.spec
        return {
            "source": self.source,
            "target": self.target,
            "source_call": self.source_call,
            "function": self.function,
            "arguments": _jsonable(self.arguments),
            "weight_steps": self.weight_steps,
            "exact": self.exact,
            "post_crop": None if self.post_crop is None else [list(p) for p in self.post_crop],
            "bias_after": self.bias_after,
            "notes": self.notes,
            "window": {
                "kernel_size": list(spec.kernel_size),
                "stride": list(spec.stride),
                "dilation": list(spec.dilation),
                "crop": [list(c) for c in spec.crop],
                "in_channels": spec.in_channels,
                "out_channels": spec.out_channels,
                "groups": spec.groups,
                "input_size": None if spec.input_size is None else list(spec.input_size),
            },
        }

    def describe(self) -> str:
        """The plan in words."""
        lines = [
            f"{_name(self.source)} -> {_name(self.target)}: "
            + ("exact" if self.exact else "needs a crop/pad after the call")
        ]
        lines.append(f"  source:    {self.source_call}")
        spec = self.spec
        lines.append(
            f"  window:    kernel {spec.kernel_size}, stride {spec.stride}, dilation {spec.dilation}, "
            f"crop (begin, end) {spec.crop} of the full output, channels {spec.in_channels} -> {spec.out_channels}, "
            f"groups {spec.groups}" + ("" if spec.input_size is None else f", for input size {spec.input_size}")
        )
        lines.append(
            f"  target:    {self.function}(" + ", ".join(f"{k}={v!r}" for k, v in self.arguments.items()) + ")"
        )
        for step in self.weight_steps or ["none (same layout)"]:
            lines.append(f"  weight:    {step}")
        if self.post_crop is not None:
            lines.append(f"  then:      crop (begin, end) {self.post_crop} per spatial axis (negative: append zeros)")
        if self.bias_after:
            lines.append("  bias:      added after the call")
        for note in self.notes:
            lines.append(f"  note:      {note}")
        return "\n".join(lines)

    __str__ = describe

    def to_code(self) -> str:
        """Python code for the target framework: ``convert_weight`` (NumPy) and what the target runs.

        ``convert_weight`` takes the source's weight (a NumPy array) and returns the
        target's. PyTorch and Keras then get ``make_layer(weight, bias=None)``, the
        module or layer a model holds (with the crop or zero-padding layers the window
        needs, the weights loaded), called on the target's tensors in its default data
        layout; TensorFlow, JAX, ONNX and tconv get ``conv_transpose(x, weight,
        bias=None)`` (ONNX also ``make_nodes`` and ``make_model``).
        """
        header = [
            f"# tconv translation plan: {_name(self.source)} -> {_name(self.target)} "
            + ("(exact)" if self.exact else "(the target's call plus a crop/pad step)"),
            f"# source: {self.source_call}",
        ]
        header += [f"# note: {note}" for note in self.notes]
        lines = ["def convert_weight(weight):"]
        lines.append(
            f'    """{_name(self.source)} weight {show(self._source.weight_shape)} -> {_name(self.target)} weight."""'
        )
        lines.append("    w = np.asarray(weight)")
        lines += ["    " + line for line in steps_code(self._weight_steps, "w")]
        lines.append(
            '    return np.array(w, order="C", copy=True)  # a fresh C-ordered copy (flips leave negative strides)'
        )
        return "\n".join(header) + "\n" + self._target.code("\n".join(lines)) + "\n"

    def snippet(self) -> str:
        """The plan as a few lines for the target framework, without a bias: what the explorer page shows.

        ``w`` starts as the source's weight and is converted by the plan's weight
        steps; ``x`` is the input in the target's data layout; the lines compute ``y``
        with the target's layer (PyTorch's module, Keras' layer, with the crop or
        zero-padding layers the window needs, the weight loaded) or call (TensorFlow,
        JAX, tconv): the same lines :meth:`to_code` prints. ONNX's lines name its
        nodes (``y = ConvTranspose(x, w, ...)``) rather than build a model.

        Examples
        --------
        >>> print(translate({"stride": 2, "padding": "same"}, "tconv", "torch", weight_shape=(1, 1, 3)).snippet())
        conv = torch.nn.ConvTranspose1d(1, 1, kernel_size=(3,), stride=(2,), padding=(0,), output_padding=(0,), groups=1, dilation=(1,), bias=False)
        conv.weight.data.copy_(torch.as_tensor(w))
        layer = torch.nn.Sequential(
            conv,
            torch.nn.ZeroPad1d((0, -1)),  # crop (begin, end) = ((0, 1),) (negative amounts crop)
        )
        y = layer(x)
        """  # noqa: E501 (the printed line is long)
        return "\n".join(steps_code(self._weight_steps, "w") + self._target.body("w", None))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if is_int(value):
        return int(value)
    if isinstance(value, (str, bool, float)) or value is None:
        return value
    return json.loads(json.dumps(value, default=str))
