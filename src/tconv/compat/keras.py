"""The emulation of Keras's transposed convolution; its home is :mod:`tconv.frameworks.keras`."""

from ..frameworks.keras import *  # noqa: F403  (the public names, __all__)
from ..frameworks.keras import __all__ as __all__
