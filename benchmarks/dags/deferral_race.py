"""The deferral race benchmark's DAG: deferred tasks whose query ends just after they defer.

Never shipped in the template: ``benchmarks/deferral_race.py`` copies this file into a fresh
bake's ``dags/`` (default answers, so the package is ``polars_cloud_pipelines``).

Each of ``DEFERRAL_RACE_TASKS`` independent ``@polars_task(deferrable=True)`` tasks runs one
local query that spends ``DEFERRAL_RACE_QUERY_S`` waiting (a UDF that sleeps), a little
longer than the deployment's ``defer_after_s``: the task waits for it on the worker, defers,
and the query ends right after the deferral, which is when Airflow 3.3.2's resume race
(apache/airflow#72716) can fail a task. No retries: a task the race fails stays failed.
"""

from __future__ import annotations

import os

from airflow.sdk import dag
from polars_cloud_pipelines import datasets, settings
from polars_cloud_pipelines.dag_defaults import DEFAULT_ARGS, START_DATE, tags
from polars_cloud_provider import compute
from polars_cloud_provider.decorators.polars_task import polars_task

TASKS = int(os.environ.get("DEFERRAL_RACE_TASKS", "4"))
QUERY_S = float(os.environ.get("DEFERRAL_RACE_QUERY_S", "3"))
CLUSTER = settings.load().manifest_cluster()


@dag(
    dag_id="deferral_race",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args={**DEFAULT_ARGS, "retries": 0},
    tags=tags("benchmark"),
    doc_md=__doc__,
)
def deferral_race() -> None:
    @polars_task(deferrable=True)
    def query(number: int, ds: str | None = None) -> str:
        import time

        import polars as pl

        def wait(frame: pl.DataFrame) -> pl.DataFrame:
            time.sleep(QUERY_S)
            return frame

        lf = pl.LazyFrame({"number": [number]}).map_batches(wait, streamable=False)
        target = datasets.partition_uri(f"deferral_race_{number}", ds)
        return compute.sink(lf, target, on=CLUSTER, mode=compute.SINGLE_NODE)

    for number in range(TASKS):
        query.override(task_id=f"query_{number}")(number)


deferral_race()
