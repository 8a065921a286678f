"""The sample data: deterministic, written where the DAGs read it, and never over files put
there by hand. Every dataset of dev/samples/ is checked, whatever it is called."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from {{ cookiecutter.package_name }} import datasets
from {{ cookiecutter.package_name }}.dev import sample_data

NAMES = sample_data.names()


@pytest.mark.parametrize("name", NAMES)
def test_same_arguments_same_rows_other_seed_or_day_other_rows(name) -> None:
    first = sample_data.frame(name, 500, seed=1, ds="2026-01-01")
    assert first.height > 0
    assert_frame_equal(first, sample_data.frame(name, 500, seed=1, ds="2026-01-01"))
    assert not first.equals(sample_data.frame(name, 500, seed=2, ds="2026-01-01"))
    if name in datasets.PARTITIONED_BY_DS:  # each day of it has rows of its own
        assert not first.equals(sample_data.frame(name, 500, seed=1, ds="2026-01-02"))


def test_write_puts_every_dataset_where_the_dags_read_it(tmp_path) -> None:
    days = ["2026-01-01", "2026-01-02"]
    written = sample_data.write(str(tmp_path), rows=50, days=days)

    assert sorted(written) == NAMES
    for name, paths in written.items():
        expected_days = days if name in datasets.PARTITIONED_BY_DS else days[:1]
        assert paths == [
            f"{tmp_path}/{datasets.input_folder(name, ds)}/part-0.parquet" for ds in expected_days
        ]
        assert all(pl.read_parquet(path).height > 0 for path in paths)


def test_files_put_in_the_data_root_by_hand_are_never_overwritten(tmp_path) -> None:
    mine = {}
    for name in NAMES:
        folder = tmp_path / datasets.input_folder(name, "2026-01-01")
        folder.mkdir(parents=True)
        mine[name] = folder / "my-export.parquet"
        pl.DataFrame({"mine": [1]}).write_parquet(mine[name])

    written = sample_data.write(str(tmp_path), rows=50, only_missing=True)

    assert written == {}
    for name, path in mine.items():
        assert [p.name for p in path.parent.iterdir()] == ["my-export.parquet"], name


def test_rows_must_be_positive_and_unknown_datasets_say_where_to_add_them() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sample_data.frame(NAMES[0] if NAMES else "any", 0)
    with pytest.raises(LookupError, match=r"add dags/.+/dev/samples/web_events\.py with"):
        sample_data.frame("web_events", 10)
{%- if cookiecutter.include_example_dags %}


def test_the_example_samples_look_like_production() -> None:
    """Dates, categories, missing amounts and reasons, and a few late returns."""
    from datetime import timedelta

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
