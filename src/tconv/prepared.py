"""Prepared calls: a weight packed once and reused, as FFTW's plans and ONNX Runtime's sessions do.

:func:`tconv.conv_transpose` receives a mutable NumPy weight on every call, so it
checks it and packs it (into the layout its GEMMs read) every time.
:func:`prepare` does that once: the returned :class:`Prepared` holds its own copy of
the weight, its packed forms (made on first use, per compute dtype), and, per input
shape, the checked window and the algorithm ``"auto"`` chose, so that a call does
only the work of the call::

    plan = tconv.prepare(w, stride=2, padding=1)     # packs nothing yet; copies w
    y = plan(x, b)                                    # == tconv.conv_transpose(x, w, b, stride=2, padding=1)

The plan is of the weight *as it was when prepared*: later changes to the array
passed in do not reach it (prepare again). :class:`tconv.nn.ConvTranspose` and the
``tconv.torch`` modules keep a plan and make a new one when their weight changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from . import _algorithms
from ._algorithms import compiled as _compiled
from ._algorithms.gemm import small_call
from ._algorithms.problem import Problem, batched_shape
from ._options import effective
from ._validate import check_layout, numeric_array, show, weight_array
from .geometry import Geometry, PaddingArg, window_arguments
from .ops import call_key, check_result_size, is_plain, plan, prepare_arrays, remember, resolve_geometry, result_dtype
from .typing import Layout

__all__ = ["Prepared", "prepare"]


class Prepared:
    """A transposed convolution with a fixed weight and parameters, ready to call (:func:`prepare`).

    Attributes
    ----------
    weight : ndarray
        The plan's own, read-only copy of the weight.
    groups : int
    layout : str
    algorithm : str
    """

    def __init__(
        self,
        weight: Any,
        stride: int | Sequence[int],
        padding: PaddingArg,
        output_padding: int | Sequence[int],
        groups: int,
        dilation: int | Sequence[int],
        layout: Layout,
        algorithm: str,
        *,
        reused: bool = True,
    ) -> None:
        w = weight_array(weight, "prepare: ")  # conv_transpose's check of the weight, before its window's
        self.weight = np.array(w, copy=True)
        self.weight.flags.writeable = False
        self.layout = check_layout(layout)
        if algorithm != "auto":
            _algorithms.get(algorithm)
        self.algorithm = algorithm
        # whether "auto" may count on many calls per plan (a layer's plan, made anew after every change
        # of its weight -- every training step -- does not: it chooses as a plain call does)
        self._reused = reused
        # the size-free arguments, checked now
        window_arguments(w.ndim - 2, w.shape[2:], stride, padding, output_padding, dilation)
        self.groups = groups
        self._window = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
        self._calls: dict[tuple, tuple[Geometry, Any, str]] = {}  # per input shape: its checked call
        self._weights: dict[np.dtype, np.ndarray] = {}  # the weight in each compute dtype
        self._packed: dict[np.dtype, dict] = {}  # its packed forms, per compute dtype
        self._small_calls: dict[tuple, Any] = {}  # planned calls of small problems
        self._planned: dict[tuple, Callable[..., np.ndarray]] = {}  # per input and bias: its planned call (__call__)

    def _call(self, x: np.ndarray, bias: Any, output_size: Any) -> tuple[Geometry, Any, str]:
        """The checked window, operands and algorithm of a call on an input like ``x``, cached per shape."""
        size = tuple(output_size) if type(output_size) is list else output_size
        key = (x.shape, x.dtype, None if bias is None else (np.shape(bias), np.asarray(bias).dtype), size)
        # ints and None only (not 9.0, True or arrays): a kept call must never accept what the checks refuse
        found = self._calls.get(key) if is_plain(size) else None
        if found is None:
            xb, operands = prepare_arrays(
                "conv_transpose", x, self.weight, bias, self.groups, self.layout, weight_in_axis=0
            )
            geometry = resolve_geometry(
                "conv_transpose", xb.shape, operands, dict(self._window, output_size=output_size)
            )
            algorithm = self.algorithm
            if algorithm == "auto":
                _, compute = result_dtype(*(a for a in (xb, self.weight, operands.bias) if a is not None))
                c_out = self.weight.shape[1] * operands.groups
                algorithm = _algorithms.choose(
                    geometry,
                    operands.groups,
                    xb.shape[0],
                    self.weight.shape[0],
                    c_out,
                    dtype=compute,
                    layout=self.layout,
                    reused=self._reused,
                )
            found = (geometry, replace(operands, bias=None), algorithm)  # not the bias itself
            if is_plain(size):  # a plan called on ever new shapes keeps only the recent ones
                remember(self._calls, key, found, 64)
        return found

    def __call__(self, input: Any, bias: Any = None, *, output_size: int | Sequence[int] | None = None) -> np.ndarray:
        """``conv_transpose(input, weight, bias, ...)`` with the prepared weight and parameters.

        Parameters
        ----------
        input : array_like, shape (N, C_in, *i) or unbatched (C_in, *i)
            (``(N, *i, C_in)`` with ``layout="channels_last"``).
        bias : array_like, shape (C_out,), optional
            Not part of the plan (it is not packed): pass the current one.
        output_size : int or sequence of int, optional
            As for :func:`tconv.conv_transpose`.
        """
        # A call on NumPy arrays of a shape and dtype seen before, under the same options, runs the
        # call planned then: its checks, window, dtypes and algorithm depend on nothing else (a
        # one-element call took 12-20 us through them all, ONNX Runtime's session ~10).
        key = call_key("prepared", (input, bias), (output_size,))  # a None input never passes the checks
        call = None if key is None else self._planned.get(key)
        if call is not None:
            return call(input, bias)
        x = numeric_array(input, "input")
        b = None if bias is None else numeric_array(bias, "bias")
        call = self._plan(x, b, output_size)
        if key is not None:
            remember(self._planned, key, call, 64)
        return call(x, b)

    def _plan(self, x: np.ndarray, b: np.ndarray | None, output_size: Any) -> Callable[..., np.ndarray]:
        """The call on an input like ``x`` and a bias like ``b`` (every check done now), as a function
        of the two arrays."""
        geometry, operands, algorithm = self._call(x, b, output_size)
        batched, groups, layout = operands.batched, operands.groups, self.layout
        n = x.shape[0] if batched else 1
        result, compute = result_dtype(*(a for a in (x, self.weight, b) if a is not None))
        w = self._weights.get(compute)
        if w is None:
            w = self._weights[compute] = self.weight.astype(compute)
            self._packed[compute] = {}
        c_out = w.shape[1] * groups
        if b is not None and b.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), got shape {show(b.shape)}")
        if n == 0:
            empty = batched_shape(0, c_out, geometry.output_size, layout)
            check_result_size("conv_transpose", empty, max(result.itemsize, compute.itemsize), geometry)
            return lambda x, b: np.zeros(empty, result)
        # (an empty spatial axis: plan's output of the bias alone, not a small call's GEMM)
        fast = None if geometry.empty else self._small(geometry, operands, algorithm, n, w, compute)
        if fast is not None:

            def small(x: np.ndarray, b: np.ndarray | None) -> np.ndarray:
                xb = x if batched else x[None]
                bias = None if b is None else b.astype(compute, copy=False)
                y = fast(xb.astype(compute, copy=False), bias).astype(result, copy=False)
                return y if batched else y[0]

            return small
        execute = plan(
            "conv_transpose",
            x if batched else x[None],
            w,
            b,
            geometry,
            groups=groups,
            layout=layout,
            algorithm=algorithm,
            packed=self._packed[compute],
        )

        def call(x: np.ndarray, b: np.ndarray | None) -> np.ndarray:
            y = execute(x if batched else x[None], w, b).astype(result, copy=False)
            return y if batched else y[0]

        return call

    def _small(
        self, geometry: Geometry, operands: Any, algorithm: str, n: int, w: np.ndarray, compute: np.dtype
    ) -> Any:
        """The planned call of a small problem (:func:`tconv._algorithms.gemm.small_call`) or None, per
        input shape, compute dtype and options (a change of options plans anew)."""
        if algorithm != "gemm" or not _compiled.supports(compute):
            return None
        key = (geometry, n, compute, effective())
        if key not in self._small_calls:
            shape = batched_shape(0, self.weight.shape[0], geometry.input_size, self.layout)
            problem = Problem.of(np.empty(shape, compute), w, None, operands.groups, self.layout, "conv_transpose")
            problem = replace(problem, packed=self._packed[compute])
            if len(self._small_calls) > 64:
                self._small_calls.clear()
            self._small_calls[key] = small_call(geometry, problem, w, n)
        return self._small_calls[key]

    def holds(self, weight: np.ndarray) -> bool:
        """Whether ``weight`` has the shape, dtype and values of the plan's own copy (a layer's check that
        its weight is unchanged: NumPy compares them on the calling thread at memory speed, ~1 ms for an
        8 MiB weight; ``torch.equal`` took 2.1 ms on one, 1.4 ms on a 74 000-value weight in a training
        step)."""
        return (
            weight.shape == self.weight.shape
            and weight.dtype == self.weight.dtype
            and bool(np.array_equal(weight, self.weight))
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._window.items())
        return (
            f"Prepared(weight of shape {show(self.weight.shape)}, {args}, groups={self.groups}, layout={self.layout!r})"
        )


def prepare(
    weight: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    layout: Layout = "channels_first",
    algorithm: str = "auto",
) -> Prepared:
    """A transposed convolution with this weight, packed once and reused by every call.

    The parameters are :func:`tconv.conv_transpose`'s, without the input and the
    bias (the returned plan takes those: ``plan(x, bias)``). The plan keeps its own
    copy of the weight; its packed forms are made on the first call of each compute
    dtype, and the window and the algorithm on the first call of each input shape.

    Examples
    --------
    >>> import numpy as np, tconv
    >>> rng = np.random.default_rng(0)
    >>> x, w, b = rng.standard_normal((2, 8, 5, 5)), rng.standard_normal((8, 4, 4, 4)), rng.standard_normal(4)
    >>> plan = tconv.prepare(w, stride=2, padding=1)
    >>> y = plan(x, b)
    >>> y.shape
    (2, 4, 10, 10)
    >>> bool(np.allclose(y, tconv.conv_transpose(x, w, b, stride=2, padding=1)))
    True
    """
    return Prepared(weight, stride, padding, output_padding, groups, dilation, layout, algorithm)
