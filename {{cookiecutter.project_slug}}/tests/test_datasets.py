"""Where inputs are read: whole datasets, or the run's day of a dataset partitioned by day."""

from __future__ import annotations

import polars as pl
import pytest
from airflow.sdk.exceptions import AirflowFailException
from polars.testing import assert_frame_equal
from polars_cloud_provider.hooks.polars_cloud import authenticate

from {{ cookiecutter.package_name }} import datasets, settings


@pytest.fixture
def root(tmp_path, local_connection, monkeypatch):
    """A data root with ``clicks`` partitioned by day and ``users`` read whole."""
    monkeypatch.setenv(settings.env_var("data_root"), str(tmp_path))
    monkeypatch.setattr(datasets, "PARTITIONED_BY_DS", frozenset({"clicks"}))
    for ds, n in (("2024-02-01", 1), ("2024-02-02", 2)):
        (tmp_path / "raw" / "clicks" / f"ds={ds}").mkdir(parents=True)
        frame = pl.DataFrame({"ds": [ds] * n, "page": ["home"] * n})
        frame.write_parquet(tmp_path / "raw" / "clicks" / f"ds={ds}" / "part-0.parquet")
    (tmp_path / "raw" / "users").mkdir(parents=True)
    for part in range(2):
        pl.DataFrame({"user": [part]}).write_parquet(tmp_path / "raw" / "users" / f"{part}.parquet")
    return tmp_path


@authenticate
def read(name: str, ds: str | None = None) -> pl.DataFrame:
    return datasets.source(name, ds).collect()


def test_a_partitioned_input_reads_only_the_runs_day(root) -> None:
    expected = pl.DataFrame({"ds": ["2024-02-02"] * 2, "page": ["home"] * 2})
    assert_frame_equal(read("clicks", "2024-02-02"), expected)
    assert read("clicks", "2024-02-01")["ds"].to_list() == ["2024-02-01"]


def test_other_inputs_are_read_whole_whatever_the_day(root) -> None:
    assert sorted(read("users", "2024-02-02")["user"]) == [0, 1]
    assert sorted(read("users")["user"]) == [0, 1]


def test_a_missing_day_fails_at_once_naming_the_dataset_the_day_and_the_uri(root) -> None:
    """Before any query runs, and without retries (AirflowFailException): a retry minutes
    later would find the same empty place."""
    with pytest.raises(AirflowFailException) as caught:
        read("clicks", "2024-02-03")

    uri = f"{root}/raw/clicks/ds=2024-02-03/*.parquet"
    message = str(caught.value)
    assert message == f"Input 'clicks' for ds=2024-02-03: no parquet file at {uri}"
    assert "\n" not in message


def test_a_missing_whole_input_is_named_too(root) -> None:
    with pytest.raises(AirflowFailException, match=r"^Input 'orders_2020': no parquet file at "):
        read("orders_2020")


def test_a_partitioned_input_read_without_a_day_says_how_to_pass_it(root) -> None:
    with pytest.raises(ValueError, match=r"datasets\.source\('clicks', ds\)"):
        read("clicks")


def test_days_must_look_like_dates(root) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        datasets.source_uri("clicks", "01/02/2026")


def test_a_lookup_table_is_not_partitioned_by_day() -> None:
    """A STATIC dataset has the same rows every day: it is read whole, never by day."""
    both = sorted(datasets.STATIC & datasets.PARTITIONED_BY_DS)
    assert both == [], f"{both} in both datasets.STATIC and datasets.PARTITIONED_BY_DS: pick one"
