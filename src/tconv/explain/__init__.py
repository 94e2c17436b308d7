"""Transposed convolution explained: a text walk-through, pictures, and an offline explorer page.

- :mod:`tconv.explain.text`: the step-by-step walk-through ``tconv explain`` prints
  (:func:`explain_text`), the scatter steps, the window diagram, and the index
  arithmetic they show (which inputs and taps sum into an output); its public
  names are importable from :mod:`tconv.explain` itself;
- :mod:`tconv.explain.artifacts_text`: the overlap analysis of :mod:`tconv.artifacts`
  in words, what ``tconv artifacts`` prints;
- :mod:`tconv.explain.pictures`: the scatter, zero-insertion, matrix and overlap
  views as matplotlib figures and animations (``pip install ".[viz]"``);
- :mod:`tconv.explain.explorer`: the interactive page, one self-contained HTML file.

Everything is computed from the library's own numbers: the views are checked
against :func:`tconv.conv_transpose` before they are shown.
"""

from .text import *  # noqa: F403  (the walk-through's public names, __all__)
from .text import __all__ as __all__
