"""The emulation of PyTorch's transposed convolution; its home is :mod:`tconv.frameworks.torch`."""

from ..frameworks.torch import *  # noqa: F403  (the public names, __all__)
from ..frameworks.torch import __all__ as __all__
