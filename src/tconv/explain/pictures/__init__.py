"""Pictures and animations of a transposed convolution, drawn with matplotlib (``tconv[viz]``).

Four views, for any stride, padding, output_padding, dilation and groups of a 1-d
or 2-d problem:

- :func:`scatter_figure`: each input element stamps the scaled kernel into the full
  output, accumulating step by step; the output is a window of the full output
  (:func:`scatter_animation` plays the steps as a GIF);
- :func:`zero_insertion_figure`: the same output as an ordinary convolution of the
  zero-inserted, padded input with the **flipped** kernel, for one output element
  (:func:`zero_insertion_animation` slides the kernel over every output);
- :func:`matrix_figure`: ``Cᵀ`` as a heat-map, with the row of one output element
  (the inputs and taps that sum into it) and the column of one input element
  (its stamp);
- :func:`overlap_figure`: the overlap map and per-phase tap counts of a
  configuration analysed by :func:`tconv.artifacts.analyze`, and with weights the
  real response to a constant input.

:func:`explain_figure` stacks several views of one problem in one figure;
:func:`save_figure` and :func:`save_animation` write PNG and GIF files.

Every number drawn comes from the library's own computation
(:func:`tconv.explain.scatter_steps`, :func:`tconv.conv_transpose`,
:func:`tconv.conv_transpose_matrix`, :mod:`tconv.artifacts`), and each view checks
what it draws against :func:`tconv.conv_transpose` before drawing it.

Matplotlib is imported only when a picture is drawn, and only its object-oriented
API with the Agg canvas is used (no ``pyplot``, no global state, no display).

:func:`problem` checks and computes the problem once -- ``x`` of shape
``(C_in, *i)`` and ``w`` of shape ``(C_in, C_out/groups, *k)`` (PyTorch's layout), or
a single channel: ``x`` of shape ``i`` with ``w`` of shape ``k``, with the arguments
of :func:`tconv.conv_transpose` -- and every view takes it::

    p = problem(x, w, stride=2, padding=1)
    save_figure(explain_figure(p), "views.png")
    scatter_animation(p, path="scatter.gif")

The public functions are in :mod:`.figures`; one private module draws each view
(``_scatter``, ``_zero_insertion``, ``_matrix``, ``_overlap``), ``_problem`` holds
the numbers every view shows and ``_drawing`` the matplotlib helpers they share.
"""

from .figures import *  # noqa: F403  (the public functions, __all__)
from .figures import __all__ as __all__
