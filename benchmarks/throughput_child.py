"""Local-backend throughput against Polars on its own, inside a generated project.

Run by ``run.py`` from the project's root with its ``dags/`` on ``sys.path`` and the Polars
Cloud connection set to ``{"backend": "local"}``, as
``python throughput_child.py PACKAGE DATA_ROOT REPS ROWS...``; prints one JSON object.

For each row count it writes the project's sample data (``make run``'s, through its ``dev.py``),
then runs three of the project's queries both ways on the same LazyFrame:

- helper: a function decorated with the provider's ``@authenticate`` calling ``compute.sink``
  to a fresh ``ds=`` partition, as a DAG task does (connection lookup, staging directory,
  swap into place: all counted);
- direct: ``lf.sink_parquet`` to a fresh directory.

The two alternate, after one untimed run of each; the figure is the median.
"""

from __future__ import annotations

import importlib
import json
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

DAY = "2026-01-01"  # the day of the inventory snapshot the report reads (one a day)
# The queries, from the project's builders over its sample inputs: an aggregation that
# writes 8 rows, a projection that writes every row, and the complete pipeline's report
# (three inputs joined and aggregated). Rates count the generated rows (orders or sales).
QUERIES = {
    "revenue_by_category": lambda q, d: q.orders.revenue_by_category(d.source("orders")),
    "sales_with_revenue": lambda q, d: q.daily_report.sales_with_revenue(d.source("sales")),
    "daily_report": lambda q, d: q.daily_report.daily_report(
        q.daily_report.sales_with_revenue(d.source("sales")),
        q.daily_report.inventory_with_low_stock(d.source("inventory", DAY)),
        q.daily_report.returns_with_days(d.source("returns")),
    ),
}


def main() -> None:
    package, data_root, repetitions = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    row_counts = [int(rows) for rows in sys.argv[4:]]
    compute = importlib.import_module("polars_cloud_provider.compute")
    datasets = importlib.import_module(f"{package}.datasets")
    queries = importlib.import_module(f"{package}.queries")
    for module in ("orders", "daily_report"):
        importlib.import_module(f"{package}.queries.{module}")
    sample_data = importlib.import_module(f"{package}.dev").sample_data
    authenticate = importlib.import_module("polars_cloud_provider.hooks.polars_cloud").authenticate
    conn_id = importlib.import_module(f"{package}.settings").load().conn_id

    @authenticate(conn_id=conn_id)
    def task(lf, target: str) -> str:
        return compute.sink(lf, target, on=compute.Manifest("benchmark"))

    results = []
    for rows in row_counts:
        shutil.rmtree(data_root, ignore_errors=True)
        sample_data.write(str(data_root), rows=rows, days=[DAY])
        for query_name, build in QUERIES.items():
            lf = build(queries, datasets)
            out = data_root / "curated" / query_name
            runs = iter(range(10_000))

            def helper(lf=lf, out=out, runs=runs) -> None:
                ds = (date(2026, 1, 1) + timedelta(days=next(runs))).isoformat()
                task(lf, f"{out}/helper/ds={ds}/")

            def direct(lf=lf, out=out, runs=runs) -> None:
                lf.sink_parquet(f"{out}/direct/{next(runs)}/part-0.parquet", mkdir=True)

            times = _alternate(helper, direct, repetitions)
            results.append(
                {
                    "rows": rows,
                    "query": query_name,
                    "helper_s": statistics.median(times[helper]),
                    "direct_s": statistics.median(times[direct]),
                }
            )
            shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(results))


def _alternate(helper, direct, repetitions: int) -> dict:
    times = {helper: [], direct: []}
    helper(), direct()  # untimed: first-use costs (connection lookup, file system caches)
    for repetition in range(repetitions):
        for run in (helper, direct) if repetition % 2 == 0 else (direct, helper):
            started = time.perf_counter()
            run()
            times[run].append(time.perf_counter() - started)
    return times


if __name__ == "__main__":
    main()
