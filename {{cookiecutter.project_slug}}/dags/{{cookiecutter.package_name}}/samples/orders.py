"""Sample ``orders`` (``raw/orders/``): a quarter of orders in every status, with a few
missing amounts."""

from __future__ import annotations

from datetime import date

import polars as pl
from polars_cloud_provider.devtools import sample_columns as columns

STATUSES = {"active": 50, "shipped": 30, "cancelled": 12, "returned": 8}  # share in %
REGIONS = ["north", "south", "east", "west"]


def frame(rows: int, seed: int, ds: date) -> pl.DataFrame:
    cents = (columns.uniform(seed, 5) % 50_000 + 100).cast(pl.Int64)
    amount = pl.when(columns.uniform(seed, 6) % 50 == 0).then(None).otherwise(cents / 100)
    return columns.ids(rows).select(
        pl.col("id").alias("order_id"),
        columns.day(seed, 1).alias("order_date"),
        columns.weighted(STATUSES, seed, 2).alias("status"),
        columns.pick(columns.CATEGORIES, seed, 3).alias("category"),
        columns.pick(REGIONS, seed, 4).alias("region"),
        amount.cast(pl.Decimal(10, 2)).alias("amount"),
    )
