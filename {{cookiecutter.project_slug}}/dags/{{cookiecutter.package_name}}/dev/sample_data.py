"""Deterministic sample inputs for every dataset the DAGs read.

Rows are derived from hashes of their index, so the same seed and row count always give
the same data (with the pinned polars), and a million rows take a fraction of a second.
Schemas look like production: dates, categories, missing amounts and reasons, and a share
of returns filed more than 30 days after purchase.

    python -m {{ cookiecutter.package_name }}.dev.sample_data --rows 10000 [--root URI]
"""

from __future__ import annotations

import argparse
from datetime import date

import polars as pl

from {{ cookiecutter.package_name }} import settings

DEFAULT_ROWS = 10_000
DEFAULT_SEED = 42
FIRST_DAY = date(2026, 1, 1)
DAYS = 90
STATUSES = {"active": 50, "shipped": 30, "cancelled": 12, "returned": 8}  # share in %
CATEGORIES = ["books", "electronics", "games", "garden", "home", "kitchen", "sports", "toys"]
REGIONS = ["north", "south", "east", "west"]
REASONS = ["damaged", "wrong item", "not as described", "changed mind"]


def _uniform(seed: int, salt: int) -> pl.Expr:
    """A deterministic pseudo-random UInt64 per row."""
    return pl.int_range(pl.len(), dtype=pl.UInt64).hash(seed * 1_000 + salt)


def _pick(values: list[str], seed: int, salt: int) -> pl.Expr:
    return (_uniform(seed, salt) % len(values)).replace_strict(
        dict(enumerate(values)), return_dtype=pl.String
    )


def _weighted(shares: dict[str, int], seed: int, salt: int) -> pl.Expr:
    roll = _uniform(seed, salt) % 100
    expr, upper = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String)), 0
    for value, share in shares.items():
        upper += share
        expr = expr.when(roll < upper).then(pl.lit(value))
    return expr


def _day(seed: int, salt: int) -> pl.Expr:
    return pl.lit(FIRST_DAY) + pl.duration(days=(_uniform(seed, salt) % DAYS).cast(pl.Int64))


def _ids(rows: int) -> pl.DataFrame:
    return pl.DataFrame({"id": pl.int_range(1, rows + 1, eager=True)})


def orders(rows: int, seed: int = DEFAULT_SEED) -> pl.DataFrame:
    cents = (_uniform(seed, 5) % 50_000 + 100).cast(pl.Int64)
    amount = pl.when(_uniform(seed, 6) % 50 == 0).then(None).otherwise(cents / 100)
    return _ids(rows).select(
        pl.col("id").alias("order_id"),
        _day(seed, 1).alias("order_date"),
        _weighted(STATUSES, seed, 2).alias("status"),
        _pick(CATEGORIES, seed, 3).alias("category"),
        _pick(REGIONS, seed, 4).alias("region"),
        amount.cast(pl.Decimal(10, 2)).alias("amount"),
    )


def inventory(products: int, seed: int = DEFAULT_SEED) -> pl.DataFrame:
    return _ids(products).select(
        pl.col("id").alias("product_id"),
        _pick(CATEGORIES, seed, 11).alias("product_category"),
        (_uniform(seed, 12) % 200).cast(pl.Int64).alias("stock_level"),
        (_uniform(seed, 13) % 40 + 10).cast(pl.Int64).alias("min_threshold"),
    )


def sales(rows: int, products: int, seed: int = DEFAULT_SEED) -> pl.DataFrame:
    return _ids(rows).select(
        pl.col("id").alias("sale_id"),
        (_uniform(seed, 21) % products + 1).cast(pl.Int64).alias("product_id"),
        _day(seed, 22).alias("sale_date"),
        ((_uniform(seed, 23) % 20_000 + 99) / 100).alias("price"),
        (_uniform(seed, 24) % 10 + 1).cast(pl.Int64).alias("quantity"),
    )


def returns(rows: int, products: int, seed: int = DEFAULT_SEED) -> pl.DataFrame:
    purchase = _day(seed, 32)
    waited = pl.duration(days=(_uniform(seed, 33) % 35 + 1).cast(pl.Int64))  # 1 in 7 is late
    reason = pl.when(_uniform(seed, 35) % 5 == 0).then(None).otherwise(_pick(REASONS, seed, 34))
    return _ids(rows).select(
        pl.col("id").alias("return_id"),
        (_uniform(seed, 31) % products + 1).cast(pl.Int64).alias("product_id"),
        purchase.alias("purchase_date"),
        (purchase + waited).alias("return_date"),
        reason.alias("reason"),
    )


def sample_frames(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> dict[str, pl.DataFrame]:
    """Every input dataset; ``rows`` sizes orders and sales, the rest scale with it."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    products = max(20, rows // 100)
    return {
        "orders": orders(rows, seed),
        "sales": sales(rows, products, seed),
        "inventory": inventory(products, seed),
        "returns": returns(max(1, rows // 20), products, seed),
    }


def write(
    root: str | None = None, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED
) -> dict[str, str]:
    """Write every dataset to ``<root>/raw/<name>/part-0.parquet``; return the paths."""
    current = settings.load()
    base = (root or current.data_root).rstrip("/")
    written = {}
    for name, frame in sample_frames(rows, seed).items():
        path = f"{base}/raw/{name}/part-0.parquet"
        if "://" not in path:
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path, storage_options=current.storage_options)
        written[name] = path
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--root", help="data root (default: the settings' data root)")
    args = parser.parse_args(argv)
    for name, path in write(args.root, args.rows, args.seed).items():
        print(f"{name:<10} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
