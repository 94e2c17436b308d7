"""Runnable examples: ``python -m tconv.examples.<name> --help``.

- :mod:`tconv.examples.dask_upsample`: up-sample a 3-D volume larger than the
  memory budget, chunk by chunk, on a ``dask.distributed.LocalCluster``
  (needs ``tconv[dask]``).
"""
