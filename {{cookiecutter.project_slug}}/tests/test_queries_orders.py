"""The builders over orders on small frames, with every expected value written out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal

from {{ cookiecutter.package_name }}.queries import orders

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
    assert_frame_equal(orders.orders_by_status(ORDERS).collect(), expected)


{%- if cookiecutter.include_example_dags %}


def test_revenue_by_category() -> None:
    expected = pl.DataFrame({"category": ["books", "games"], "revenue": [34.75, 5.25]})
    assert_frame_equal(orders.revenue_by_category(ORDERS).collect(), expected)


def test_mean_order_value_by_region_ignores_missing_amounts() -> None:
    expected = pl.DataFrame({"region": ["north", "south"], "mean_amount": [7.875, 12.125]})
    assert_frame_equal(orders.mean_order_value_by_region(ORDERS).collect(), expected)


def test_orders_per_day() -> None:
    result = orders.orders_per_day(ORDERS).collect()
    assert result.rows() == [(date(2026, 1, 1), 2), (date(2026, 1, 2), 2), (date(2026, 1, 3), 1)]


def test_active_orders_then_category_summary() -> None:
    active = orders.active_orders(ORDERS)
    assert active.collect_schema()["amount"] == pl.Float64
    assert active.select("order_id").collect().to_series().to_list() == [1, 3, 5]
    summary = orders.category_summary(active).collect()
    assert summary.rows() == [("books", 14.75, 2), ("games", 5.25, 1)]
{%- endif %}
