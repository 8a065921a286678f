"""The deferral benchmark's DAGs: the same independent query tasks, blocking and deferred.

Never shipped in the template: ``benchmarks/deferral.py`` copies this file into a fresh
bake's ``dags/`` (default answers, so the package is ``polars_cloud_pipelines``).

Each DAG has ``DEFERRAL_BENCHMARK_TASKS`` tasks that do not depend on each other, each
running one local query on the generated ``benchmark_orders`` input (the project's own
sample orders, written by the benchmark). Two workloads, each blocking and deferred:

- ``deferral_benchmark_cpu_*``: real Polars work on this machine's cores, a price-scenario
  analysis that reads the orders once per scenario (``DEFERRAL_BENCHMARK_PASSES`` of them)
  and aggregates every scenario by category, region and status and week;
- ``deferral_benchmark_elsewhere_*``: a query whose time is spent waiting
  (``DEFERRAL_BENCHMARK_ELSEWHERE_S`` in a Polars UDF that sleeps) rather than on this
  machine's cores, as a Polars Cloud query's time is spent on its cluster.

The blocking and deferred DAGs of a workload differ only in ``deferrable``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from airflow.sdk import dag
from polars_cloud_pipelines import datasets, settings
from polars_cloud_pipelines.dag_defaults import DEFAULT_ARGS, START_DATE, tags
from polars_cloud_provider import compute
from polars_cloud_provider.decorators.polars_task import polars_task

if TYPE_CHECKING:
    import polars as pl

INPUT = "benchmark_orders"
TASKS = int(os.environ.get("DEFERRAL_BENCHMARK_TASKS", "8"))
PASSES = int(os.environ.get("DEFERRAL_BENCHMARK_PASSES", "15"))
ELSEWHERE_S = float(os.environ.get("DEFERRAL_BENCHMARK_ELSEWHERE_S", "15"))
MODES = {"blocking": False, "deferred": True}


def price_scenarios(orders: pl.LazyFrame, passes: int) -> pl.LazyFrame:
    """Revenue per category, region, status and week under ``passes`` price scenarios
    (+0 %, +1 %, ...): the orders are read and aggregated once per scenario."""
    import polars as pl

    amount = pl.col("amount").cast(pl.Float64)
    scenarios = []
    for scenario in range(passes):
        revenue = amount * (1 + scenario / 100)
        scenarios.append(
            orders.with_columns(
                scenario=pl.lit(scenario),
                revenue=revenue,
                log_revenue=revenue.log1p(),
                week=pl.col("order_date").dt.week(),
            )
        )
    keys = ["scenario", "category", "region", "status", "week"]
    return (
        pl.concat(scenarios)
        .group_by(keys)
        .agg(
            pl.col("revenue").sum().alias("revenue"),
            pl.col("revenue").mean().alias("mean_revenue"),
            pl.col("log_revenue").std().alias("log_revenue_spread"),
            pl.col("revenue").max().alias("largest_order"),
            pl.len().alias("orders"),
        )
        .sort(keys)
    )


def elsewhere(orders: pl.LazyFrame, seconds: float) -> pl.LazyFrame:
    """Orders and revenue per category, after ``seconds`` spent waiting inside the query.

    The wait is a UDF over the one small aggregated frame, so it runs once per query."""
    import time

    import polars as pl

    def wait(frame: pl.DataFrame) -> pl.DataFrame:
        time.sleep(seconds)
        return frame

    per_category = orders.group_by("category").agg(
        pl.col("amount").cast(pl.Float64).sum().alias("revenue"), pl.len().alias("orders")
    )
    return per_category.sort("category").map_batches(wait, streamable=False)


WORKLOADS = {
    "cpu": lambda orders: price_scenarios(orders, PASSES),
    "elsewhere": lambda orders: elsewhere(orders, ELSEWHERE_S),
}


CLUSTER = settings.load().manifest_cluster()


def benchmark_dag(workload: str, mode: str, deferrable: bool) -> None:
    @dag(
        dag_id=f"deferral_benchmark_{workload}_{mode}",
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        # A failed query fails the benchmark: a retry would only blur the figures.
        default_args={**DEFAULT_ARGS, "retries": 0},
        tags=tags("benchmark"),
        doc_md=__doc__,
    )
    def benchmark() -> None:
        @polars_task(deferrable=deferrable)
        def query(number: int, ds: str | None = None) -> str:
            target = datasets.partition_uri(f"deferral_benchmark_{workload}_{mode}_{number}", ds)
            lf = WORKLOADS[workload](datasets.source(INPUT))
            return compute.sink(lf, target, on=CLUSTER, mode=compute.SINGLE_NODE)

        for number in range(TASKS):
            query.override(task_id=f"query_{number}")(number)

    benchmark()


for _workload in WORKLOADS:
    for _mode, _deferrable in MODES.items():
        benchmark_dag(_workload, _mode, _deferrable)
