"""The sample data generator: deterministic, and shaped like the inputs the DAGs expect."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from {{ cookiecutter.package_name }}.dev import sample_data


def test_same_seed_same_data_other_seed_other_data() -> None:
    first, again = sample_data.sample_frames(500, seed=1), sample_data.sample_frames(500, seed=1)
    other = sample_data.sample_frames(500, seed=2)
    for name in first:
        assert_frame_equal(first[name], again[name])
        assert not first[name].equals(other[name]), name


def test_row_counts_scale_with_the_requested_rows() -> None:
    frames = sample_data.sample_frames(4_000)
    assert {name: frame.height for name, frame in frames.items()} == {
        "orders": 4_000,
        "sales": 4_000,
        "inventory": 40,
        "returns": 200,
    }


def test_schemas_match_what_the_queries_read() -> None:
    frames = sample_data.sample_frames(100)
    assert dict(frames["orders"].schema) == {
        "order_id": pl.Int64,
        "order_date": pl.Date,
        "status": pl.String,
        "category": pl.String,
        "region": pl.String,
        "amount": pl.Decimal(10, 2),
    }
    assert dict(frames["sales"].schema) == {
        "sale_id": pl.Int64,
        "product_id": pl.Int64,
        "sale_date": pl.Date,
        "price": pl.Float64,
        "quantity": pl.Int64,
    }
    assert dict(frames["inventory"].schema) == {
        "product_id": pl.Int64,
        "product_category": pl.String,
        "stock_level": pl.Int64,
        "min_threshold": pl.Int64,
    }
    assert dict(frames["returns"].schema) == {
        "return_id": pl.Int64,
        "product_id": pl.Int64,
        "purchase_date": pl.Date,
        "return_date": pl.Date,
        "reason": pl.String,
    }


def test_realistic_values_nulls_and_a_few_late_returns() -> None:
    frames = sample_data.sample_frames(10_000)
    orders, returns, sales = frames["orders"], frames["returns"], frames["sales"]
    assert set(orders["status"]) == set(sample_data.STATUSES)
    assert set(orders["category"]) == set(sample_data.CATEGORIES)
    assert 0 < orders["amount"].null_count() < orders.height // 10
    assert 0 < returns["reason"].null_count() < returns.height // 2
    waited = returns["return_date"] - returns["purchase_date"]
    late = (waited > timedelta(days=30)).sum()
    assert 0 < late < returns.height // 4
    assert (waited > timedelta(0)).all()
    products = set(frames["inventory"]["product_id"])
    assert set(sales["product_id"]) <= products and set(returns["product_id"]) <= products


def test_write_puts_every_dataset_where_the_dags_read_it(tmp_path) -> None:
    written = sample_data.write(str(tmp_path), rows=50)
    assert sorted(written) == ["inventory", "orders", "returns", "sales"]
    for name, path in written.items():
        assert path == f"{tmp_path}/raw/{name}/part-0.parquet"
        assert pl.read_parquet(path).height > 0


def test_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sample_data.sample_frames(0)
