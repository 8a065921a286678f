"""Sample ``orders``: one day's drop of orders (``raw/orders/ds=<day>/``).

A day's file holds the orders placed that day and the two days before (late arrivals), in
every status, with a few missing amounts.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from {{ cookiecutter.package_name }}.dev.sample_columns import (
    CATEGORIES,
    day,
    day_seed,
    ids,
    pick,
    uniform,
    weighted,
)

STATUSES = {"active": 50, "shipped": 30, "cancelled": 12, "returned": 8}  # share in %
REGIONS = ["north", "south", "east", "west"]
LATE_DAYS = 2
"""Orders arrive up to this many days after they were placed."""


def frame(rows: int, seed: int, ds: date) -> pl.DataFrame:
    seed = day_seed(seed, ds)  # every day has other orders
    cents = (uniform(seed, 5) % 50_000 + 100).cast(pl.Int64)
    amount = pl.when(uniform(seed, 6) % 50 == 0).then(None).otherwise(cents / 100)
    return ids(rows).select(
        (pl.col("id") + ds.toordinal() * 10_000_000).alias("order_id"),
        day(seed, 1, first=ds - timedelta(days=LATE_DAYS), days=LATE_DAYS + 1).alias("order_date"),
        weighted(STATUSES, seed, 2).alias("status"),
        pick(CATEGORIES, seed, 3).alias("category"),
        pick(REGIONS, seed, 4).alias("region"),
        amount.cast(pl.Decimal(10, 2)).alias("amount"),
    )
