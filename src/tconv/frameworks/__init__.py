"""Everything tconv knows about each framework's transposed convolution, one module per framework.

Each of :mod:`~tconv.frameworks.torch`, :mod:`~tconv.frameworks.tensorflow`,
:mod:`~tconv.frameworks.keras`, :mod:`~tconv.frameworks.jax` and
:mod:`~tconv.frameworks.onnx` holds, for its framework:

the emulation
    the framework's functions on NumPy arrays with its argument names, defaults,
    data and weight layouts and checks (its ``__all__``; the public face is
    :mod:`tconv.compat`);
the window rule
    its arguments as a crop ``(begin, end)`` of the full output per axis
    (``window(...)`` returns the :class:`~tconv.geometry.Geometry`);
the translation rules
    ``source(params, weight_shape, input_shape)`` reads a call into a
    :class:`~tconv.frameworks._common.ConvTransposeSpec`, and ``target(spec)`` chooses
    the call that cuts a spec's window (or the nearest one and a crop or pad
    afterwards), with its weight layout (the steps of :mod:`tconv.weights`) and its
    printed code; :mod:`tconv.translation` runs them.

:mod:`~tconv.frameworks.tconv` is tconv's own convention on the translation side,
:mod:`~tconv.frameworks._xla` the general XLA convolution that JAX's transposed
convolution is written in, :mod:`~tconv.frameworks._common` and
:mod:`~tconv.frameworks._code` what they share. To add a framework, write its
module with the same pieces, add it to ``tconv.translation._MODULES`` and
re-export its emulation from :mod:`tconv.compat`.
"""

from . import jax, keras, onnx, tconv, tensorflow, torch

__all__ = ["jax", "keras", "onnx", "tconv", "tensorflow", "torch"]
