"""For reference: a DAG file written the way the Polars Cloud Airflow guide writes them, with
polars and polars_cloud imported at the top of the file (so on every parse).

Only the imports and the DAG structure matter here: the task bodies never run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import wraps

import polars as pl
import polars_cloud as pc
from airflow.sdk import BaseHook, dag, task


def authenticate(fn):
    @wraps(fn)
    def authenticated_fn(*args, **kwargs):
        conn = BaseHook.get_connection("polars_cloud")
        pc.authenticate(client_id=conn.login, client_secret=conn.password)
        return fn(*args, **kwargs)

    return authenticated_fn


@dag(schedule="@daily", start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False)
def guide_style_dag() -> None:
    @task()
    @authenticate
    def query_1() -> None:
        ctx = pc.ComputeContext(workspace="playground", name="airflow-production")
        (
            pl.scan_parquet("s3://your-bucket/dataset-1/*.parquet")
            .group_by("category")
            .agg(pl.sum("amount"))
            .remote(ctx)
            .single_node()
            .sink_parquet("s3://your-bucket/output-1/")
        )

    query_1()


guide_style_dag()
