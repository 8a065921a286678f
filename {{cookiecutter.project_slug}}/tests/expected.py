"""What each output should contain, computed from the inputs in plain Python.

Deliberately independent of the query builders: no polars expressions, just loops over rows,
so a mistake in a builder cannot hide behind the same mistake here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal

import polars as pl

LATE_AFTER_DAYS = 30

Rows = list[dict]
Expected = dict[str, tuple[dict[str, pl.DataType], list[tuple]]]


def orders_by_status(inputs: dict[str, Rows]) -> tuple[dict, list[tuple]]:
    counts = Counter(row["status"] for row in inputs["orders"])
    return {"status": pl.String, "orders": pl.UInt64}, sorted(counts.items())


def revenue_by_category(inputs: dict[str, Rows]) -> tuple[dict, list[tuple]]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in inputs["orders"]:
        totals[row["category"]] += row["amount"] or Decimal(0)
    return {"category": pl.String, "revenue": pl.Float64}, [
        (category, float(total)) for category, total in sorted(totals.items())
    ]


def mean_order_value_by_region(inputs: dict[str, Rows]) -> tuple[dict, list[tuple]]:
    amounts: dict[str, list[Decimal]] = defaultdict(list)
    for row in inputs["orders"]:
        if row["amount"] is not None:
            amounts[row["region"]].append(row["amount"])
    return {"region": pl.String, "mean_amount": pl.Float64}, [
        (region, float(sum(values) / len(values))) for region, values in sorted(amounts.items())
    ]


def orders_per_day(inputs: dict[str, Rows]) -> tuple[dict, list[tuple]]:
    counts = Counter(row["order_date"] for row in inputs["orders"])
    return {"order_date": pl.Date, "orders": pl.UInt64}, sorted(counts.items())


def category_summary(inputs: dict[str, Rows]) -> tuple[dict, list[tuple]]:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    orders: Counter[str] = Counter()
    for row in inputs["orders"]:
        if row["status"] == "active":
            revenue[row["category"]] += row["amount"] or Decimal(0)
            orders[row["category"]] += 1
    schema = {"category": pl.String, "revenue": pl.Float64, "orders": pl.UInt64}
    return schema, [(c, float(revenue[c]), orders[c]) for c in sorted(orders)]


def daily_report(inputs: dict[str, Rows]) -> tuple[dict, list[tuple]]:
    revenue: dict[int, float] = defaultdict(float)
    sales: Counter[int] = Counter()
    for row in inputs["sales"]:
        revenue[row["product_id"]] += row["price"] * row["quantity"]
        sales[row["product_id"]] += 1
    returns: Counter[int] = Counter()
    late: Counter[int] = Counter()
    for row in inputs["returns"]:
        returns[row["product_id"]] += 1
        late[row["product_id"]] += (
            row["return_date"] - row["purchase_date"]
        ).days > LATE_AFTER_DAYS
    per_category: dict[str, list] = defaultdict(lambda: [0.0, 0, 0, 0, 0])
    for product in inputs["inventory"]:
        totals, pid = per_category[product["product_category"]], product["product_id"]
        totals[0] += revenue[pid]
        totals[1] += sales[pid]
        totals[2] += product["stock_level"] < product["min_threshold"]
        totals[3] += returns[pid]
        totals[4] += late[pid]
    schema = {
        "product_category": pl.String,
        "total_revenue": pl.Float64,
        "transaction_count": pl.UInt64,
        "low_stock_products": pl.UInt64,
        "return_count": pl.UInt64,
        "late_return_count": pl.UInt64,
    }
    return schema, [(category, *totals) for category, totals in sorted(per_category.items())]


def revenue_shares(inputs: dict[str, Rows]) -> tuple[dict, list[tuple]]:
    _, rows = category_summary(inputs)
    total = sum(revenue for _, revenue, _ in rows)
    return {"category": pl.String, "revenue": pl.Float64, "share": pl.Float64}, [
        (category, revenue, revenue / total) for category, revenue, _ in rows
    ]


OUTPUTS: dict[str, Callable[[dict[str, Rows]], tuple[dict, list[tuple]]]] = {
    "orders_by_status": orders_by_status,
{%- if cookiecutter.include_example_dags %}
    "revenue_by_category": revenue_by_category,
    "revenue_snapshot": revenue_by_category,  # the same query, fire-and-forget
    "mean_order_value_by_region": mean_order_value_by_region,
    "orders_per_day": orders_per_day,
    "category_summary": category_summary,
    "daily_report": daily_report,
    "revenue_shares": revenue_shares,
{%- endif %}
}
"""Exact expectations, by output dataset: opt-in. Whichever DAG writes one of these outputs
has it compared with the function's result on the same sample inputs (the day's rows of a
dataset partitioned by day); every other output is only checked to be there and not empty."""


def output_name(folder: str) -> str:
    """``curated/<name>/ds=<date>`` -> ``<name>``."""
    return folder.rstrip("/").split("/")[-2]


def assert_output_matches(frame: pl.DataFrame, output: str, inputs: dict[str, Rows]) -> None:
    schema, rows = OUTPUTS[output](inputs)
    assert dict(frame.schema) == schema, f"{output}: schema {dict(frame.schema)}"
    assert frame.height == len(rows), f"{output}: {frame.height} rows, expected {len(rows)}"
    for got, want in zip(frame.rows(), rows, strict=True):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            if isinstance(w, float):
                assert abs(g - w) <= 1e-6 * max(1.0, abs(w)), f"{output}: {got} != {want}"
            else:
                assert g == w, f"{output}: {got} != {want}"
