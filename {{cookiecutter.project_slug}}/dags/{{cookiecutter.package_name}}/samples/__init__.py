"""Sample data, one module per input dataset: ``orders.py`` writes ``raw/orders/``.

Each module defines ``frame(rows: int, seed: int, ds: date) -> polars.DataFrame``: the same
arguments must give the same rows. ``ds`` is the day being written for a dataset partitioned
by day (``datasets.PARTITIONED_BY_DS``); other datasets ignore it. A new input dataset gets
its sample data by adding a module here (copy one); the tests and ``make run`` find it.
"""

import importlib
import pkgutil


def frames() -> dict:
    """Each dataset's ``frame`` function, by the name of its module here."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return {name: importlib.import_module(f"{__name__}.{name}").frame for name in names}
