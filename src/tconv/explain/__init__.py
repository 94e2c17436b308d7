"""Transposed convolution explained: a text walk-through, pictures, and an offline explorer page.

- :mod:`tconv.explain.text`: the step-by-step walk-through ``tconv explain`` prints
  (:func:`explain_text`), the scatter steps and the window diagram;
- :mod:`tconv.explain.pictures`: the scatter, zero-insertion, matrix and overlap
  views as matplotlib figures and animations (``pip install ".[viz]"``);
- :mod:`tconv.explain.explorer`: the interactive page, one self-contained HTML file.

Everything is computed from the library's own numbers: the views are checked
against :func:`tconv.conv_transpose` before they are shown.
"""

from .text import TENSORFLOW_EXAMPLE, Step, explain_text, scatter_steps, window_diagram, zero_insert

__all__ = ["TENSORFLOW_EXAMPLE", "Step", "explain_text", "scatter_steps", "window_diagram", "zero_insert"]
