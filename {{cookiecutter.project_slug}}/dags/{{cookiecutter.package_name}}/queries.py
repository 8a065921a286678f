"""Query builders: pure functions from LazyFrames to a LazyFrame.

They know nothing of Airflow, Polars Cloud or storage, so tests run them on small
in-memory frames. Edit these (and the DAG that calls them) to change what a pipeline
computes.
"""

from __future__ import annotations

import polars as pl

LATE_RETURN_DAYS = 30
"""Returns filed more than this many days after purchase count as late."""


def orders_by_status(orders: pl.LazyFrame) -> pl.LazyFrame:
    """How many orders are in each status."""
    return orders.group_by("status").agg(pl.len().alias("orders")).sort("status")


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


def sales_with_revenue(sales: pl.LazyFrame) -> pl.LazyFrame:
    """Each sale with its revenue (price x quantity)."""
    return sales.with_columns((pl.col("price") * pl.col("quantity")).alias("revenue"))


def inventory_with_low_stock(inventory: pl.LazyFrame) -> pl.LazyFrame:
    """Each product with a flag for stock below its reorder threshold."""
    return inventory.with_columns(
        (pl.col("stock_level") < pl.col("min_threshold")).alias("low_stock")
    )


def returns_with_days(returns: pl.LazyFrame) -> pl.LazyFrame:
    """Each return with the days between purchase and return, and whether it was late."""
    days = (pl.col("return_date") - pl.col("purchase_date")).dt.total_days()
    return returns.with_columns(
        days.alias("return_days"), (days > LATE_RETURN_DAYS).alias("late_return")
    )


def daily_report(
    sales: pl.LazyFrame, inventory: pl.LazyFrame, returns: pl.LazyFrame
) -> pl.LazyFrame:
    """Per product category: revenue, sales, low-stock products, returns and late returns.

    Takes the outputs of ``sales_with_revenue``, ``inventory_with_low_stock`` and
    ``returns_with_days``. Sales and returns are totalled per product before the join so
    that a product with several returns does not count its sales several times.
    """
    per_product_sales = sales.group_by("product_id").agg(
        pl.col("revenue").sum().alias("revenue"), pl.len().alias("transactions")
    )
    per_product_returns = returns.group_by("product_id").agg(
        pl.len().alias("returns"), pl.col("late_return").sum().alias("late_returns")
    )
    counts = ["transactions", "returns", "late_returns"]
    return (
        inventory.join(per_product_sales, on="product_id", how="left")
        .join(per_product_returns, on="product_id", how="left")
        .with_columns(pl.col("revenue").fill_null(0.0), pl.col(counts).fill_null(0))
        .group_by("product_category")
        .agg(
            pl.col("revenue").sum().alias("total_revenue"),
            pl.col("transactions").sum().alias("transaction_count"),
            pl.col("low_stock").sum().alias("low_stock_products"),
            pl.col("returns").sum().alias("return_count"),
            pl.col("late_returns").sum().alias("late_return_count"),
        )
        .sort("product_category")
    )
