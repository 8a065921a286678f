"""Sample data, one module per input dataset: ``orders.py`` writes ``raw/orders/``.

Each module defines ``frame(rows: int, seed: int, ds: date) -> polars.DataFrame``: the same
arguments must give the same rows. ``ds`` is the day being written for a dataset partitioned
by day (``datasets.PARTITIONED_BY_DS``); other datasets ignore it. A new input dataset gets
its sample data by adding a module here (copy one); the tests and ``make run`` find it.
"""
