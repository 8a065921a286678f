"""The query builders on small frames, with every expected value written out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal

from {{ cookiecutter.package_name }} import queries

ORDERS = pl.LazyFrame(
    {
        "order_id": [1, 2, 3, 4, 5],
        "order_date": [
            date(2026, 1, 1),
            date(2026, 1, 1),
            date(2026, 1, 2),
            date(2026, 1, 2),
            date(2026, 1, 3),
        ],
        "status": ["active", "shipped", "active", "cancelled", "active"],
        "category": ["books", "books", "games", "games", "books"],
        "region": ["north", "south", "north", "north", "south"],
        "amount": [Decimal("10.50"), Decimal("20.00"), Decimal("5.25"), None, Decimal("4.25")],
    },
    schema_overrides={"amount": pl.Decimal(10, 2)},
)


def test_orders_by_status() -> None:
    expected = pl.DataFrame(
        {"status": ["active", "cancelled", "shipped"], "orders": [3, 1, 1]},
        schema_overrides={"orders": pl.UInt64},
    )
    assert_frame_equal(queries.orders_by_status(ORDERS).collect(), expected)


def test_revenue_by_category() -> None:
    expected = pl.DataFrame({"category": ["books", "games"], "revenue": [34.75, 5.25]})
    assert_frame_equal(queries.revenue_by_category(ORDERS).collect(), expected)


def test_mean_order_value_by_region_ignores_missing_amounts() -> None:
    expected = pl.DataFrame({"region": ["north", "south"], "mean_amount": [7.875, 12.125]})
    assert_frame_equal(queries.mean_order_value_by_region(ORDERS).collect(), expected)


def test_orders_per_day() -> None:
    result = queries.orders_per_day(ORDERS).collect()
    assert result.rows() == [(date(2026, 1, 1), 2), (date(2026, 1, 2), 2), (date(2026, 1, 3), 1)]


def test_active_orders_then_category_summary() -> None:
    active = queries.active_orders(ORDERS)
    assert active.collect_schema()["amount"] == pl.Float64
    assert active.select("order_id").collect().to_series().to_list() == [1, 3, 5]
    summary = queries.category_summary(active).collect()
    assert summary.rows() == [("books", 14.75, 2), ("games", 5.25, 1)]


def test_transforms_add_their_columns() -> None:
    sales = pl.LazyFrame({"product_id": [1], "price": [2.5], "quantity": [4]})
    assert queries.sales_with_revenue(sales).collect()["revenue"].to_list() == [10.0]

    inventory = pl.LazyFrame({"product_id": [1, 2], "stock_level": [3, 9], "min_threshold": [5, 5]})
    assert queries.inventory_with_low_stock(inventory).collect()["low_stock"].to_list() == [
        True,
        False,
    ]

    returns = pl.LazyFrame(
        {
            "product_id": [1, 2],
            "purchase_date": [date(2026, 1, 1), date(2026, 1, 1)],
            "return_date": [date(2026, 1, 31), date(2026, 2, 15)],
        }
    )
    result = queries.returns_with_days(returns).collect()
    assert result["return_days"].to_list() == [30, 45]
    assert result["late_return"].to_list() == [False, True]


def test_daily_report_counts_each_sale_once_per_category() -> None:
    sales = queries.sales_with_revenue(
        pl.LazyFrame(
            {"product_id": [1, 1, 2, 3], "price": [10.0, 10.0, 4.0, 1.0], "quantity": [1, 2, 5, 1]}
        )
    )
    inventory = queries.inventory_with_low_stock(
        pl.LazyFrame(
            {
                "product_id": [1, 2, 3, 4],
                "product_category": ["books", "games", "games", "books"],
                "stock_level": [1, 50, 2, 0],
                "min_threshold": [5, 10, 5, 1],
            }
        )
    )
    returns = queries.returns_with_days(
        pl.LazyFrame(
            {
                "product_id": [1, 1, 2],
                "purchase_date": [date(2026, 1, 1)] * 3,
                "return_date": [date(2026, 1, 5), date(2026, 3, 1), date(2026, 1, 2)],
            }
        )
    )
    report = queries.daily_report(sales, inventory, returns).collect()
    expected = pl.DataFrame(
        {
            "product_category": ["books", "games"],
            "total_revenue": [30.0, 21.0],
            "transaction_count": [2, 2],
            "low_stock_products": [2, 1],
            "return_count": [2, 1],
            "late_return_count": [1, 0],
        },
        schema_overrides={
            name: pl.UInt64
            for name in (
                "transaction_count",
                "low_stock_products",
                "return_count",
                "late_return_count",
            )
        },
    )
    assert_frame_equal(report, expected)
