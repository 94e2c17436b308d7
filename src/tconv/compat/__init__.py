"""Each framework's transposed convolution, exactly, on NumPy arrays: no framework is imported.

The public face of :mod:`tconv.frameworks`, where everything tconv knows about each
framework lives (its emulation, which windows it can express, its weight layout and
its printed code); these modules re-export the emulation.

- :mod:`tconv.compat.torch`: ``conv_transpose1d/2d/3d`` and the module's
  ``output_size`` rule;
- :mod:`tconv.compat.tensorflow`: ``conv1d_transpose``, ``conv2d_transpose``
  (explicit paddings included), ``conv3d_transpose``, ``conv_transpose``;
- :mod:`tconv.compat.keras`: ``Conv1DTranspose``, ``Conv2DTranspose``,
  ``Conv3DTranspose`` and ``keras.ops.conv_transpose``;
- :mod:`tconv.compat.jax`: ``lax.conv_transpose`` and ``lax.conv_general_dilated``;
- :mod:`tconv.compat.onnx`: ``ConvTranspose`` with every attribute, following the
  specification or (``semantics="onnxruntime"``) ONNX Runtime where they differ.

Each function takes the framework's argument names, defaults, data layout and
weight layout, rejects what the framework rejects (with the framework's reason
in the message), resolves the arguments into tconv's window model
(:mod:`tconv.geometry`) and computes with :func:`tconv.conv_transpose`. The tests
compare every module with the real framework on randomized configurations.

Examples
--------
TensorFlow's ``"SAME"`` for a 3-tap kernel and stride 2 crops the odd cell at the
end, which PyTorch's symmetric ``padding`` cannot express:

>>> import numpy as np
>>> from tconv.compat import tensorflow, torch
>>> x = np.array([1., 2., 3.]).reshape(1, 3, 1)                    # NWC
>>> tensorflow.conv1d_transpose(x, np.array([1., 10., 100.]).reshape(3, 1, 1), [1, 6, 1], 2)[0, :, 0]
array([  1.,  10., 102.,  20., 203.,  30.])
>>> torch.conv_transpose1d(x.reshape(1, 1, 3), np.array([[[1., 10., 100.]]]), stride=2, padding=1,
...                       output_padding=1)[0, 0]
array([ 10., 102.,  20., 203.,  30., 300.])
"""

from . import jax, keras, onnx, tensorflow, torch

__all__ = ["jax", "keras", "onnx", "tensorflow", "torch"]
