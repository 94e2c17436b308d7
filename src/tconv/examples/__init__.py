"""Runnable examples: ``python -m tconv.examples.<name> --help``.

- :mod:`tconv.examples.dask_upsample`: up-sample a 3-D volume larger than the
  memory budget, chunk by chunk, on a ``dask.distributed.LocalCluster``
  (needs ``tconv[dask]``).
- :mod:`tconv.examples.train_upsampler`: train a x2 up-sampler (k=4, s=2, p=1) in
  NumPy from random, bilinear and ICNR initialisations (needs matplotlib, extra
  ``tconv[examples]``).
"""
