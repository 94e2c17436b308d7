"""tconv: transposed convolution for NumPy, exact in every framework's convention.

Read ``tconv/shape.py`` (the integer shape arithmetic) and ``tconv/_kernels.py``
(the NumPy kernels) to understand the operator; everything else builds on them.
"""

from ._algorithms import algorithms
from ._ops import conv, conv_transpose
from ._version import __version__
from .matrix import conv_matrix, conv_transpose_matrix
from . import compat
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
    "compat",
    "conv",
    "conv_matrix",
    "conv_output_size",
    "conv_transpose",
    "conv_transpose_matrix",
    "conv_transpose_output_size",
    "conv_transpose_output_size_range",
    "convert_weight",
    "inverse_output_padding",
    "translate",
]
