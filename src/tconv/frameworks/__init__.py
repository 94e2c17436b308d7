"""Everything tconv knows about each framework's transposed convolution, one module per framework.

Each module owns its framework's conventions: the emulation on NumPy arrays (its
argument names, defaults, data and weight layouts, checks and window rule; the
public face is :mod:`tconv.compat`), which windows its arguments can express (the
target side of :func:`tconv.translate`), its weight layout and the code it prints.

- :mod:`tconv.frameworks.torch`: ``conv_transpose1d/2d/3d`` and the module's
  ``output_size`` rule;
- :mod:`tconv.frameworks.tensorflow`: ``conv1d_transpose``, ``conv2d_transpose``
  (explicit paddings included), ``conv3d_transpose``, ``conv_transpose``;
- :mod:`tconv.frameworks.keras`: ``Conv1DTranspose``, ``Conv2DTranspose``,
  ``Conv3DTranspose`` and ``keras.ops.conv_transpose``;
- :mod:`tconv.frameworks.jax`: ``lax.conv_transpose`` and ``lax.conv_general_dilated``;
- :mod:`tconv.frameworks.onnx`: ``ConvTranspose`` with every attribute, following the
  specification or (``semantics="onnxruntime"``) ONNX Runtime where they differ.
"""

from . import jax, keras, onnx, tensorflow, torch

__all__ = ["jax", "keras", "onnx", "tensorflow", "torch"]
