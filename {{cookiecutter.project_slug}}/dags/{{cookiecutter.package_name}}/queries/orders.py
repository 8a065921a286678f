"""Query builders over the ``orders`` dataset."""

from __future__ import annotations

import polars as pl


def orders_by_status(orders: pl.LazyFrame) -> pl.LazyFrame:
    """How many orders are in each status."""
    return orders.group_by("status").agg(pl.len().alias("orders")).sort("status")
{%- if cookiecutter.include_example_dags %}


def revenue_by_category(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Total order amount per product category."""
    return (
        orders.group_by("category")
        .agg(pl.col("amount").cast(pl.Float64).sum().alias("revenue"))
        .sort("category")
    )


def mean_order_value_by_region(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Average order amount per region (orders without an amount are left out)."""
    return (
        orders.group_by("region")
        .agg(pl.col("amount").cast(pl.Float64).mean().alias("mean_amount"))
        .sort("region")
    )


def orders_per_day(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Number of orders placed each day."""
    return orders.group_by("order_date").agg(pl.len().alias("orders")).sort("order_date")


def active_orders(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Orders still active, with the amount as a float for downstream arithmetic."""
    return orders.filter(pl.col("status") == "active").with_columns(
        pl.col("amount").cast(pl.Float64)
    )


def category_summary(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Revenue and order count per category."""
    return (
        orders.group_by("category")
        .agg(pl.col("amount").sum().alias("revenue"), pl.len().alias("orders"))
        .sort("category")
    )
{%- endif %}
