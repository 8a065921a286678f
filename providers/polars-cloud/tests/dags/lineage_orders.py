"""Three query tasks in a row on the local engine: the DAG of test_lineage.py.

The data root is ``$LINEAGE_DATA_ROOT``. ``clean_orders`` reads ``raw/orders/*.parquet`` and
writes ``curated/orders_clean/ds=<ds>/``; ``orders_by_customer`` reads that partition and
``raw/customers.parquet`` and writes ``curated/orders_by_customer/ds=<ds>/``;
``order_totals`` (deferrable) runs an ``execute`` and reads its result back in the body
(its own intermediate result, no dataset).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from airflow.sdk import dag
from polars_cloud_provider import compute
from polars_cloud_provider.decorators.polars_task import polars_task

DATA_ROOT = "LINEAGE_DATA_ROOT"
CLUSTER = compute.Manifest("lineage")


def _partition(name: str, ds: str | None) -> str:
    return f"{os.environ[DATA_ROOT]}/curated/{name}/ds={ds}/"


@dag(schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False)
def lineage_orders() -> None:
    @polars_task
    def clean_orders(ds: str | None = None) -> str:
        import polars as pl

        raw = compute.scan_parquet(f"{os.environ[DATA_ROOT]}/raw/orders/*.parquet")
        clean = raw.filter(pl.col("amount") > 0)
        return compute.sink(clean, _partition("orders_clean", ds), on=CLUSTER)

    @polars_task
    def orders_by_customer(ds: str | None = None) -> str:
        import polars as pl

        orders = compute.scan_parquet(_partition("orders_clean", ds))
        customers = compute.scan_parquet(f"{os.environ[DATA_ROOT]}/raw/customers.parquet")
        joined = orders.join(customers, on="customer_id").group_by("name").agg(pl.len())
        return compute.sink(joined, _partition("orders_by_customer", ds), on=CLUSTER)

    @polars_task(deferrable=True)
    def order_totals(ds: str | None = None) -> float:
        import polars as pl

        orders = compute.scan_parquet(_partition("orders_clean", ds))
        locations = compute.execute(orders.select(pl.col("amount").sum()), on=CLUSTER)
        return float(compute.scan_parquet(locations).collect().item())

    clean = clean_orders()
    clean >> [orders_by_customer(), order_totals()]


lineage_orders()
