"""Transposed convolution explained: a text walk-through, pictures, and an offline explorer page.

- :mod:`tconv.explain.text`: the step-by-step walk-through ``tconv explain`` prints
  (:func:`explain_text`), the scatter steps, the window diagram, and the index
  arithmetic they show (which inputs and taps sum into an output);
- :mod:`tconv.explain.artifacts_text`: the overlap analysis of :mod:`tconv.artifacts`
  in words, what ``tconv artifacts`` prints (:func:`~tconv.explain.artifacts_text.report`,
  :func:`~tconv.explain.artifacts_text.advice`);
- :mod:`tconv.explain.pictures`: the scatter, zero-insertion, matrix and overlap
  views as matplotlib figures and animations (``pip install ".[viz]"``);
- :mod:`tconv.explain.explorer`: the interactive page, one self-contained HTML file.

Everything is computed from the library's own numbers: the views are checked
against :func:`tconv.conv_transpose` before they are shown.
"""

from .text import (
    TENSORFLOW_EXAMPLE,
    Step,
    contributions,
    explain_text,
    output_window,
    scatter_steps,
    window_diagram,
    zero_insert,
    zero_insertion_padding,
)

__all__ = [
    "TENSORFLOW_EXAMPLE",
    "Step",
    "contributions",
    "explain_text",
    "output_window",
    "scatter_steps",
    "window_diagram",
    "zero_insert",
    "zero_insertion_padding",
]
