"""tconv: transposed convolution for NumPy, exact in every framework's convention.

Read ``tconv/shape.py`` (the integer shape arithmetic) and ``tconv/_kernels.py``
(the NumPy kernels) to understand the operator; everything else builds on them.
Adapters for optional frameworks (``tconv.torch``, ``tconv.dask``, ``tconv.viz``)
are never imported here: ``import tconv`` imports nothing but NumPy.
"""

from . import (
    _fast,  # noqa: F401  (registers the fast algorithms)
    artifacts,
    compat,
    init,
    nn,
)
from ._algorithms import algorithms
from ._config import get_options, options, set_options
from ._ops import conv, conv_transpose
from ._version import __version__
from .grad import conv_backward, conv_transpose_backward
from .matrix import conv_matrix, conv_transpose_matrix
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
    "set_options",
    "translate",
]
