"""The deferral benchmark's DAGs: the same independent query tasks, blocking and deferred.

Never shipped in the template: ``benchmarks/deferral.py`` copies this file into a fresh
bake's ``dags/`` (default answers, so the package is ``polars_cloud_pipelines``).

``deferral_benchmark_blocking`` and ``deferral_benchmark_deferred`` each have
``DEFERRAL_BENCHMARK_TASKS`` tasks that do not depend on each other. Every task runs one
local query of real Polars work on the generated ``benchmark_orders`` input (the project's
own sample orders, written by the benchmark): a price-scenario analysis that reads the
orders once per scenario (``DEFERRAL_BENCHMARK_PASSES`` of them) and aggregates every
scenario by category, region, status and week. The two DAGs differ only in ``deferrable``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from airflow.sdk import dag
from polars_cloud_pipelines import compute, datasets
from polars_cloud_pipelines.dag_defaults import DEFAULT_ARGS, START_DATE, tags
from polars_cloud_pipelines.tasks import polars_task

if TYPE_CHECKING:
    import polars as pl

INPUT = "benchmark_orders"
TASKS = int(os.environ.get("DEFERRAL_BENCHMARK_TASKS", "8"))
PASSES = int(os.environ.get("DEFERRAL_BENCHMARK_PASSES", "15"))
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


def benchmark_dag(mode: str, deferrable: bool) -> None:
    @dag(
        dag_id=f"deferral_benchmark_{mode}",
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
            target = datasets.partition_uri(f"deferral_benchmark_{mode}_{number}", ds)
            lf = price_scenarios(datasets.source(INPUT), PASSES)
            return compute.sink(lf, target, on=compute.Manifest(), mode=compute.SINGLE_NODE)

        for number in range(TASKS):
            query.override(task_id=f"query_{number}")(number)

    benchmark()


for _mode, _deferrable in MODES.items():
    benchmark_dag(_mode, _deferrable)
