"""Reads an input and sinks a partition on the local engine: the DAG of test_failures.py.

The data root is ``$FAILURES_DATA_ROOT`` (the test's tmp dir): orders are read from
``raw/orders/*.parquet`` under it, counts per status written to
``curated/orders_by_status/ds=<ds>/``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from airflow.sdk import dag
from polars_cloud_provider import compute
from polars_cloud_provider.decorators.polars_task import polars_task

DATA_ROOT = "FAILURES_DATA_ROOT"


@dag(schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False)
def failures_orders_by_status() -> None:
    @polars_task
    def count_orders_by_status(ds: str | None = None) -> str:
        import polars as pl
        from polars_cloud_provider.compute.permanent import NoLogicalDate

        root = os.environ[DATA_ROOT]
        if ds is None:
            raise NoLogicalDate("Cannot place 'orders_by_status': the run has no logical date.")
        orders = compute.scan_parquet(f"{root}/raw/orders/*.parquet", dataset="orders")
        counts = orders.group_by("status").agg(pl.len().alias("orders"))
        target = f"{root}/curated/orders_by_status/ds={ds}/"
        return compute.sink(counts, target, on=compute.Manifest("failures"))

    count_orders_by_status()


failures_orders_by_status()
