"""The emulation of ONNX's transposed convolution; its home is :mod:`tconv.frameworks.onnx`."""

from ..frameworks.onnx import *  # noqa: F403  (the public names, __all__)
from ..frameworks.onnx import __all__ as __all__
