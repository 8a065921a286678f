"""Deterministic pseudo-random columns for a project's sample datasets: hashes of the row index,
so the same seed and row count give the same rows; a million take a fraction of a second."""

from __future__ import annotations

from datetime import date

import polars as pl

FIRST_DAY = date(2026, 1, 1)  # dates in unpartitioned samples: the DAYS days from FIRST_DAY
DAYS = 90
CATEGORIES = ["books", "electronics", "games", "garden", "home", "kitchen", "sports", "toys"]


def uniform(seed: int, salt: int) -> pl.Expr:
    """A deterministic pseudo-random UInt64 per row; another ``salt`` gives another column."""
    return pl.int_range(pl.len(), dtype=pl.UInt64).hash(seed * 1_000 + salt)


def pick(values: list[str], seed: int, salt: int) -> pl.Expr:
    """One of ``values`` per row, evenly spread."""
    return (uniform(seed, salt) % len(values)).replace_strict(
        dict(enumerate(values)), return_dtype=pl.String
    )


def weighted(shares: dict[str, int], seed: int, salt: int) -> pl.Expr:
    """One of the keys of ``shares`` per row, each with its share in percent."""
    roll = uniform(seed, salt) % 100
    expr, upper = pl.lit(None, dtype=pl.String), sum(shares.values())
    for value, share in reversed(shares.items()):  # the first share's test is the outermost
        expr = pl.when(roll < upper).then(pl.lit(value)).otherwise(expr)
        upper -= share
    return expr


def day(seed: int, salt: int, first: date = FIRST_DAY, days: int = DAYS) -> pl.Expr:
    """A date in the ``days`` days from ``first``."""
    return pl.lit(first) + pl.duration(days=(uniform(seed, salt) % days).cast(pl.Int64))


def ids(rows: int) -> pl.DataFrame:
    """A frame of ``rows`` rows with an ``id`` column 1..rows, to select the columns from."""
    return pl.DataFrame({"id": pl.int_range(1, rows + 1, eager=True)})


def day_seed(seed: int, ds: date) -> int:
    """A seed of its own for each day of a partitioned dataset."""
    return seed * 1_000_003 + ds.toordinal()


def products(rows: int) -> int:
    """How many products the sales, inventory and returns samples share for ``rows``."""
    return max(20, rows // 100)
