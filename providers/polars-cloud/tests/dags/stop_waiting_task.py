"""One task with nothing upstream that waits on a Polars Cloud query: the DAG of
test_stopping_a_task.py, which stops the task while it waits."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag
from polars_cloud_provider import compute
from polars_cloud_provider.decorators.polars_task import polars_task


@dag(schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False)
def stop_waiting_task() -> None:
    @polars_task(deferrable=False)
    def wait_for_query(ds: str | None = None) -> str:
        import polars as pl

        numbers = pl.LazyFrame({"x": [1, 2, 3]})
        target = f"s3://bucket/curated/stopped/ds={ds}/"
        return compute.sink(numbers, target, on=compute.Manifest("stop-tests"))

    wait_for_query()


stop_waiting_task()
