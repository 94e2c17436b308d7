"""The emulation of JAX's transposed convolution; its home is :mod:`tconv.frameworks.jax`."""

from ..frameworks.jax import *  # noqa: F403  (the public names, __all__)
from ..frameworks.jax import __all__ as __all__
