"""Sample data, one module per input dataset (``orders.py`` writes ``raw/orders/``), each with
``frame(rows: int, seed: int, ds: date) -> polars.DataFrame``: the same arguments give the same
rows; ``ds`` is the day written for a dataset in ``datasets.PARTITIONED_BY_DS``. A new input
dataset gets its sample data from a module added here (copy one): make run and the tests find it.
"""

import importlib
import pkgutil


def frames() -> dict:
    """Each dataset's ``frame``, by the name of its module here."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return {name: importlib.import_module(f"{__name__}.{name}").frame for name in names}
