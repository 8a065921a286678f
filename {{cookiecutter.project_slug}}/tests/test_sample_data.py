"""This project's sample data (``samples/`` in the package): deterministic, and like the real
input. Every dataset of samples/ is checked, whatever it is called. How the tools write it
(never over real input) is tested in the provider, polars_cloud_provider.devtools."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from polars.testing import assert_frame_equal

from {{ cookiecutter.package_name }} import datasets
from {{ cookiecutter.package_name }}.dev import sample_data

NAMES = sample_data.names()
DAY = sample_data.DEFAULT_DS  # the start date (dag_defaults.START_DATE)
NEXT_DAY = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()


@pytest.mark.parametrize("name", NAMES)
def test_same_arguments_same_rows_other_seed_or_day_other_rows(name) -> None:
    first = sample_data.frame(name, 500, seed=1, ds=DAY)
    assert first.height > 0
    assert_frame_equal(first, sample_data.frame(name, 500, seed=1, ds=DAY))
    if name in datasets.STATIC:  # a lookup table: the same rows whatever the seed
        assert_frame_equal(first, sample_data.frame(name, 500, seed=2, ds=NEXT_DAY))
        return
    assert not first.equals(sample_data.frame(name, 500, seed=2, ds=DAY)), (
        f"{name}: the seed changes no row; if it is a lookup table, add it to datasets.STATIC"
    )
    if name in datasets.PARTITIONED_BY_DS:  # each day of it has rows of its own
        assert not first.equals(sample_data.frame(name, 500, seed=1, ds=NEXT_DAY))
{%- if cookiecutter.include_example_dags %}


def test_the_example_samples_look_like_production() -> None:
    """Dates, categories, missing amounts and reasons, and a few late returns."""
    if not {"orders", "sales", "inventory", "returns"} <= set(NAMES):
        pytest.skip("the example datasets' sample modules were removed")
    frames = sample_data.sample_frames(10_000)
    orders, returns, sales = frames["orders"], frames["returns"], frames["sales"]
    assert orders["status"].n_unique() == 4
    assert 0 < orders["amount"].null_count() < orders.height // 10
    assert 0 < returns["reason"].null_count() < returns.height // 2
    waited = returns["return_date"] - returns["purchase_date"]
    assert 0 < (waited > timedelta(days=30)).sum() < returns.height // 4
    assert (waited > timedelta(0)).all()
    products = set(frames["inventory"]["product_id"])
    assert set(sales["product_id"]) <= products and set(returns["product_id"]) <= products
{%- endif %}
