"""The deferral benchmark's input, and its query timed alone, inside a generated project.

Run by ``deferral.py`` with the project's interpreter, its ``dags/`` on ``sys.path`` and the
same Polars thread count as the deployment, as
``python deferral_child.py DAG_FILE DATA_ROOT ROWS PASSES REPS``; prints one JSON object.

It writes ``ROWS`` of the project's own sample orders (``dev.py``'s sample data, deterministic)
as the ``benchmark_orders`` input under ``DATA_ROOT``, then runs the benchmark DAG file's
query (``price_scenarios``, imported from that file) ``REPS`` times straight through Polars,
with no Airflow around it: what one task's query costs on this machine when nothing else
runs.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    dag_file, data_root = Path(sys.argv[1]), Path(sys.argv[2])
    rows, passes, repetitions = (int(arg) for arg in sys.argv[3:6])
    spec = importlib.util.spec_from_file_location("deferral_benchmark", dag_file)
    assert spec is not None and spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)

    import polars as pl
    from polars_cloud_pipelines.datasets import input_folder
    from polars_cloud_pipelines.dev import sample_data
    from polars_cloud_provider.devtools.sample_data import PART

    folder = data_root / input_folder(benchmark.INPUT)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PART
    sample_data.frame("orders", rows).write_parquet(path)

    times = []
    with tempfile.TemporaryDirectory(prefix="benchmarks-deferral-query-") as out:
        for repetition in range(repetitions):
            query = benchmark.price_scenarios(pl.scan_parquet(path), passes)
            started = time.perf_counter()
            query.sink_parquet(f"{out}/{repetition}.parquet")
            times.append(time.perf_counter() - started)
    result = {
        "query_s": statistics.median(times),
        "input_mb": path.stat().st_size / 1e6,
        "threads": pl.thread_pool_size(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
