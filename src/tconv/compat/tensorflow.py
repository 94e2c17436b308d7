"""The emulation of TensorFlow's transposed convolution; its home is :mod:`tconv.frameworks.tensorflow`."""

from ..frameworks.tensorflow import *  # noqa: F403  (the public names, __all__)
from ..frameworks.tensorflow import __all__ as __all__
