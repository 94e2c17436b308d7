"""Runnable examples: ``python -m tconv.examples.<name> --help``.

- :mod:`tconv.examples.train_upsampler`: train a x2 up-sampler (k=4, s=2, p=1) in
  NumPy from random, bilinear and ICNR initialisations (needs matplotlib, extra
  ``tconv[examples]``).
"""
