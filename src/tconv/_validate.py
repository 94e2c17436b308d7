"""Every argument check of tconv, in one wording.

Every public function validates its arguments through these helpers so that a bad
value always gives a ``TypeError`` (wrong kind of thing) or ``ValueError`` (bad value)
that names the parameter and the value: ``stride must be positive in every axis, got
(2, 0)``; ``layout must be one of ('channels_first', 'channels_last'), got 'NHWC'``.
The integer checks import nothing numeric; :func:`numeric_array` imports NumPy when
called.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "EXTRAS",
    "LAYOUTS",
    "MAX_SPATIAL_AXES",
    "MissingDependency",
    "as_int",
    "check_bool",
    "check_choice",
    "check_layout",
    "check_ndim",
    "fits_budget",
    "fits_machine",
    "floating_dtype",
    "install_hint",
    "int_tuple",
    "is_bfloat16",
    "non_negative_int",
    "is_int",
    "machine_memory",
    "missing_dependency",
    "numeric_array",
    "positive_sizes",
    "positive_int",
    "real_array",
    "real_number",
    "require",
    "show",
    "show_bytes",
    "spatial_rank",
    "weight_array",
]

#: The data layouts of every array-taking function (weights always keep their own layout).
LAYOUTS = ("channels_first", "channels_last")

#: The keyword arguments that describe a call's window, per operator (``groups`` and ``layout``
#: describe its operands); :class:`tconv.typing.ConvTransposeOptions` and ``ConvOptions`` hold all.
WINDOW_OPTIONS = {
    "conv_transpose": ("stride", "padding", "output_padding", "dilation", "output_size"),
    "conv": ("stride", "padding", "dilation"),
}


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


def positive_int(value: object, name: str) -> int:
    """Return ``value`` as a positive ``int``, or raise naming ``name``.

    Examples
    --------
    >>> positive_int(3, "groups")
    3
    >>> positive_int(0, "groups")
    Traceback (most recent call last):
    ...
    ValueError: groups must be a positive integer, got 0
    """
    result = as_int(value, name)
    if result < 1:
        raise ValueError(f"{name} must be a positive integer, got {result}")
    return result


def non_negative_int(value: object, name: str) -> int:
    """Return ``value`` as a non-negative ``int``, or raise naming ``name``.

    Examples
    --------
    >>> non_negative_int(-1, "padding")
    Traceback (most recent call last):
    ...
    ValueError: padding must be non-negative, got -1
    """
    result = as_int(value, name)
    if result < 0:
        raise ValueError(f"{name} must be non-negative, got {result}")
    return result


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_bool(value: object, name: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (a NumPy bool too), else ``TypeError`` naming ``name``: a flag
    never reads a string or a number as true.

    Examples
    --------
    >>> check_bool("maybe", "transpose_kernel")
    Traceback (most recent call last):
    ...
    TypeError: transpose_kernel must be True or False, got 'maybe'
    """
    import numpy as np

    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_layout(layout: object) -> str:
    """``layout`` if it is one of :data:`LAYOUTS`.

    Examples
    --------
    >>> check_layout("NHWC")
    Traceback (most recent call last):
    ...
    ValueError: layout must be one of ('channels_first', 'channels_last'), got 'NHWC'
    """
    return check_choice(layout, "layout", LAYOUTS)


def is_bfloat16(dtype: Any) -> bool:
    """Whether ``dtype`` is ``ml_dtypes.bfloat16`` (JAX's and PyTorch's training type, which NumPy reads
    through ``ml_dtypes``), told without importing ``ml_dtypes``: a user who has none has no such array.

    Examples
    --------
    >>> import numpy as np
    >>> is_bfloat16(np.dtype(np.float16))
    False
    """
    return getattr(dtype, "name", None) == "bfloat16" and type(dtype).__module__.split(".")[0] == "ml_dtypes"


def numeric_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a NumPy array of a numeric dtype (bool, integer, float or complex; ``ml_dtypes.bfloat16`` too).

    Examples
    --------
    >>> numeric_array(["a"], "input")
    Traceback (most recent call last):
    ...
    TypeError: input must be a numeric array (bool, integer, float or complex), got dtype <U1
    """
    return _array_of(value, name, "numeric", "biufc", "bool, integer, float or complex")


def _array_of(value: Any, name: str, what: str, kinds: str, listed: str) -> np.ndarray:
    """``value`` as a NumPy array whose dtype's kind is one of ``kinds`` (or bfloat16), else a ``TypeError``
    naming ``name``: "``name`` must be a ``what`` array (``listed``)"."""
    import numpy as np

    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # a ragged list, or an object NumPy cannot take
        raise TypeError(
            f"{name} must be a {what} array, got a {type(value).__name__} that NumPy cannot read: {error}"
        ) from None
    if array.dtype.kind not in kinds and not is_bfloat16(array.dtype):
        raise TypeError(f"{name} must be a {what} array ({listed}), got dtype {array.dtype}")
    return array


def real_array(value: Any, name: str, *, finite: bool = False) -> np.ndarray:
    """``value`` as a NumPy array of a real numeric dtype (bool, integer or float; ``ml_dtypes.bfloat16`` too),
    with only finite values if ``finite``: for what compares values by size or writes them as JSON.

    Examples
    --------
    >>> real_array([1 + 2j], "weight")
    Traceback (most recent call last):
    ...
    TypeError: weight must be a real array (bool, integer or float), got dtype complex128
    >>> real_array([1.0, float("nan")], "weight", finite=True)
    Traceback (most recent call last):
    ...
    ValueError: weight must hold finite values, got 1 NaN or infinite of 2
    """
    import numpy as np

    array = _array_of(value, name, "real", "biuf", "bool, integer or float")
    if finite and array.dtype.kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise ValueError(f"{name} must hold finite values, got {bad} NaN or infinite of {array.size}")
    return array


def weight_array(value: Any, prefix: str = "") -> np.ndarray:
    """``value`` as a weight: a numeric array of two channel axes and at least one spatial axis, none empty.

    Every function that takes a weight checks it here, whatever its layout (tconv's
    ``(C_in, C_out/groups, *k)``, a forward convolution's ``(C_out, C_in/groups, *k)``
    or another framework's); ``prefix`` (``"conv_transpose: "``) names the caller.

    Examples
    --------
    >>> weight_array([[1.0, 2.0]], "conv_transpose: ")
    Traceback (most recent call last):
    ...
    ValueError: conv_transpose: weight must have at least 3 dimensions (two channel axes and at least one \
spatial axis), got shape (1, 2)
    """
    w = numeric_array(value, "weight")
    if w.ndim < 3:
        raise ValueError(
            f"{prefix}weight must have at least 3 dimensions (two channel axes and at least one "
            f"spatial axis), got shape {show(w.shape)}"
        )
    if 0 in w.shape:
        raise ValueError(f"{prefix}weight must not have an empty axis, got shape {show(w.shape)}")
    return w


def floating_dtype(value: Any, name: str = "dtype") -> np.dtype:
    """``value`` as a NumPy floating-point dtype (float16, float32, float64, ...): the dtypes a layer's
    parameters can be trained in (an integer weight would round every update away).

    Examples
    --------
    >>> floating_dtype("float32")
    dtype('float32')
    >>> floating_dtype("int32")
    Traceback (most recent call last):
    ...
    ValueError: dtype must be a floating-point dtype such as float32 or float64, got int32
    """
    import numpy as np

    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a NumPy dtype such as float32, got {value!r}") from None
    if dtype.kind != "f":
        raise ValueError(f"{name} must be a floating-point dtype such as float32 or float64, got {dtype}")
    return dtype


def positive_sizes(value: object, name: str, ndim: int | None = None) -> tuple[int, ...]:
    """Positive sizes as a tuple; an int is one axis unless ``ndim`` broadcasts it.

    Examples
    --------
    >>> positive_sizes(5, "input_size"), positive_sizes((2, 3), "input_size"), positive_sizes(3, "kernel_size", 2)
    ((5,), (2, 3), (3, 3))
    """
    ndim = spatial_rank(value, name) if ndim is None else ndim
    return int_tuple(value, name, check_ndim(ndim), minimum=1, rule="positive")


def spatial_rank(value: object, name: str) -> int:
    """The number of spatial axes sizes such as ``input_size`` give: 1 for an int, else their entries (at least one)."""
    ndim = 1 if is_int(value) or not isinstance(value, Sequence) else len(value)
    if ndim == 0:
        raise ValueError(f"{name} must have at least one entry (one per spatial axis), got {show(value)}")
    return ndim


#: The most spatial axes anything can have: NumPy arrays have at most 64 axes, two of them batch and channels.
MAX_SPATIAL_AXES = 62


def check_ndim(value: object, name: str = "ndim") -> int:
    """A number of spatial axes: a positive int of at most :data:`MAX_SPATIAL_AXES`.

    Examples
    --------
    >>> check_ndim(10**9)
    Traceback (most recent call last):
    ...
    ValueError: ndim must be at most 62 (NumPy arrays have at most 64 axes), got 1000000000
    """
    ndim = positive_int(value, name)
    if ndim > MAX_SPATIAL_AXES:
        raise ValueError(f"{name} must be at most {MAX_SPATIAL_AXES} (NumPy arrays have at most 64 axes), got {ndim}")
    return ndim


def real_number(value: object, name: str, *, minimum: float | None = None, strict: bool = False) -> float:
    """``value`` as a finite float (an int or float, not a bool), at least (or above, ``strict``) ``minimum``.

    Examples
    --------
    >>> real_number(0.1, "lr", minimum=0, strict=True)
    0.1
    >>> real_number("fast", "lr")
    Traceback (most recent call last):
    ...
    TypeError: lr must be a real number, got 'fast' of type str
    """
    import math

    if isinstance(value, bool) or type(value).__name__ == "bool_" or not hasattr(value, "__float__"):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    if type(value).__name__ == "ndarray" and getattr(value, "ndim", 0) != 0:
        raise TypeError(f"{name} must be a real number, got an array of shape {value.shape}")  # type: ignore[attr-defined]
    if isinstance(value, complex) or getattr(getattr(value, "dtype", None), "kind", "") == "c":
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range (10**400)
        digits = len(str(abs(operator.index(value))))  # type: ignore[arg-type]
        raise ValueError(f"{name} must be finite, got an int of {digits} digits, beyond the float range") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if minimum is not None and (number <= minimum if strict else number < minimum):
        raise ValueError(f"{name} must be {'greater than' if strict else 'at least'} {minimum}, got {number}")
    return number


def show_bytes(count: float) -> str:
    """``1.5 MiB``: a byte count for a message.

    Examples
    --------
    >>> show_bytes(512), show_bytes(3 * 2**19)
    ('512 B', '1.5 MiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(count) < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError  # pragma: no cover


def machine_memory() -> int:
    """This machine's memory in bytes (``2**63 - 1`` where it cannot be read)."""
    import os

    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 2**63 - 1


def fits_machine(needed: int, what: str, detail: str = "") -> None:
    """Refuse, before it is allocated, a result of ``needed`` bytes larger than this machine's memory.

    The limit of everything the user asks for (an output, a matrix, a weight of a given shape;
    ``docs/api.md``, "Memory: what a call may allocate"), computed from integers, where NumPy would
    fail with "array is too big" or a ``MemoryError`` (or the machine would swap). The message is
    ``{what} ({needed}), more than this machine's memory ({memory}){detail}``: ``what`` names the
    array and its shape, ``detail`` the parameters it comes from.

    Examples
    --------
    >>> fits_machine(2**70, "the weight of shape (2**68,) (float32)")
    Traceback (most recent call last):
    ...
    ValueError: the weight of shape (2**68,) (float32) (1048576.0 PiB), more than this machine's memory (...)
    """
    available = machine_memory()
    if needed > available:
        raise ValueError(
            f"{what} ({show_bytes(needed)}), more than this machine's memory ({show_bytes(available)}){detail}"
        )


def fits_budget(needed: int, what: str, budget: int, detail: str = "") -> None:
    """Refuse, before they are allocated, ``needed`` bytes above ``budget``, the ``memory_budget`` option.

    The limit of temporaries, and of an array that a parameter's value alone makes large (a weight
    ``dilation`` times longer); the caller reads the option (``effective().memory_budget``). The
    message is ``fits_machine``'s, with the budget and how to raise it.

    Examples
    --------
    >>> fits_budget(2**33, "the weight of shape (2**31,)", 2**28, " (from dilation=2**30)")
    Traceback (most recent call last):
    ...
    ValueError: the weight of shape (2**31,) (8.0 GiB), more than memory_budget=268435456 (256.0 MiB) \
(from dilation=2**30); raise it with tconv.options(memory_budget=...)
    """
    if needed > budget:
        raise ValueError(
            f"{what} ({show_bytes(needed)}), more than memory_budget={budget} ({show_bytes(budget)}){detail}; "
            "raise it with tconv.options(memory_budget=...)"
        )


def split_options(op: str, options: Mapping[str, Any], caller: str) -> tuple[Any, Any, dict[str, Any]]:
    """``(groups, layout, window)`` of the keyword arguments ``options`` of a call of ``op``.

    ``window`` holds the names of :data:`WINDOW_OPTIONS`; any other name is a
    ``TypeError`` naming ``caller``, as for a misspelt keyword argument. ``groups``
    and ``layout`` default to 1 and ``"channels_first"`` and are checked by the caller.

    Examples
    --------
    >>> split_options("conv", {"stride": 2, "groups": 3}, "conv_backward")
    (3, 'channels_first', {'stride': 2})
    >>> split_options("conv", {"strides": 2}, "conv_backward")
    Traceback (most recent call last):
    ...
    TypeError: conv_backward got an unexpected keyword argument 'strides'; valid ones are ('stride', ...)
    """
    window = dict(options)
    groups = window.pop("groups", 1)
    layout = window.pop("layout", "channels_first")
    valid = (*WINDOW_OPTIONS[op], "groups", "layout")
    for name in window:
        if name not in WINDOW_OPTIONS[op]:
            raise TypeError(f"{caller} got an unexpected keyword argument {name!r}; valid ones are {valid}")
    return groups, layout, window


#: Every optional dependency tconv imports, with the extra of ``pyproject.toml`` that installs it
#: (``tests/test_validate.py`` checks this table against ``pyproject.toml``).
EXTRAS = {
    "matplotlib": "viz",
    "PIL": "viz",
    "torch": "torch",
    "dask": "dask",
    "distributed": "dask",
    "zarr": "dask",
    "numba": "fast",
    "scipy": "sparse",
    "onnx": "onnx",
    "onnxruntime": "bench",
    "jax": "bench",
}


class MissingDependency(ModuleNotFoundError):
    """An optional dependency is not installed; the message says what needs it and how to install it."""


def require(module: str, purpose: str, extra: str | None = None) -> Any:
    """Import ``module`` (an optional dependency), or raise :class:`MissingDependency` with the install hint.

    The hint names the extra that installs it, spelled for a clone of the repository
    (``pip install ".[viz]"``, the README's installation) and for an installed tconv
    (``pip install "tconv[viz]"``).

    Examples
    --------
    >>> require("no_such_module", "--png", extra="viz")
    Traceback (most recent call last):
    ...
    tconv._validate.MissingDependency: --png needs no_such_module, which is not installed: pip install ".[viz]" \
in a clone of tconv (pip install "tconv[viz]" otherwise)
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise missing_dependency(module, purpose, extra) from error


def missing_dependency(module: str, purpose: str, extra: str | None = None) -> MissingDependency:
    """The :class:`MissingDependency` error for ``module``, for a module that imports it at the top::

    try:
        import torch
    except ImportError as error:
        raise missing_dependency("torch", "tconv.torch") from error
    """
    top = module.split(".")[0]
    hint = install_hint(extra or EXTRAS[top])
    return MissingDependency(f"{purpose} needs {top}, which is not installed: {hint}", name=top)


def install_hint(extra: str) -> str:
    """How to install an extra: ``pip install ".[viz]" in a clone of tconv (pip install "tconv[viz]" otherwise)``."""
    return f'pip install ".[{extra}]" in a clone of tconv (pip install "tconv[{extra}]" otherwise)'
