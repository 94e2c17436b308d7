"""tconv: transposed convolution for NumPy, exact in every framework's convention.

Read ``tconv/geometry.py`` (the integer index arithmetic) and ``tconv/kernels.py``
(the NumPy kernels) to understand the operator; everything else builds on them.
Adapters for optional frameworks (``tconv.torch``, ``tconv.dask``, ``tconv.explain.pictures``)
are never imported here: ``import tconv`` imports nothing but NumPy.
"""

from . import artifacts, compat, init, nn
from ._algorithms import algorithms
from ._options import get_options, options, set_options
from ._version import __version__
from .grad import conv_backward, conv_transpose_backward
from .matrix import conv_matrix, conv_transpose_matrix
from .ops import conv, conv_transpose
from .prepared import prepare
from .shape import (
    conv_output_size,
    conv_transpose_output_size,
    conv_transpose_output_size_range,
    inverse_output_padding,
)
from .translation import translate
from .weights import convert_weight

__all__ = [
    "__version__",
    "algorithms",
    "artifacts",
    "compat",
    "conv",
    "conv_backward",
    "conv_matrix",
    "conv_output_size",
    "conv_transpose",
    "conv_transpose_backward",
    "conv_transpose_matrix",
    "conv_transpose_output_size",
    "conv_transpose_output_size_range",
    "convert_weight",
    "get_options",
    "init",
    "inverse_output_padding",
    "nn",
    "options",
    "prepare",
    "set_options",
    "translate",
]
