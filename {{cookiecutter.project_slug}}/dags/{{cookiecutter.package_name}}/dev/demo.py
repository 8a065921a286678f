"""``make demo``: run the {{ 'complete pipeline' if cookiecutter.include_example_dags else 'orders_by_status DAG' }} end to end on this machine.

Sets up a local Airflow (see ``local_airflow``), writes sample data, runs the DAG with the
real Airflow CLI (``airflow dags test``) and prints where the outputs are and what the
report says. Needs no cloud account and no configuration.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from {{ cookiecutter.package_name }} import datasets, settings
from {{ cookiecutter.package_name }}.dag_defaults import START_DATE
from {{ cookiecutter.package_name }}.dev import local_airflow, sample_data

DAG_ID = {{ ('complete_pipeline' if cookiecutter.include_example_dags else 'orders_by_status') | tojson }}
REPORT = {{ ('daily_report' if cookiecutter.include_example_dags else 'orders_by_status') | tojson }}
DS = START_DATE.date().isoformat()


def main() -> int:
    started = time.monotonic()
    env = local_airflow.local_environment()
    os.environ.update(env)  # so the settings below see the local data root
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "demo.log"
    with log_path.open("w") as log:
        steps = [
            ("Preparing the local Airflow metadata DB", ("db", "migrate")),
            (f"Running {DAG_ID} for {DS} with `airflow dags test`", ("dags", "test", DAG_ID, DS)),
        ]
        print(steps[0][0], "...", flush=True)
        if not _airflow(steps[0][1], env, log, log_path):
            return 1
        print("Writing sample data ...", flush=True)
        for name, path in sample_data.write().items():
            print(f"  {name:<10} {path}")
        print(steps[1][0], "...", flush=True)
        if not _airflow(steps[1][1], env, log, log_path):
            return 1
    _summarize(time.monotonic() - started)
    return 0


def _airflow(args: tuple[str, ...], env: dict[str, str], log, log_path: Path) -> bool:
    result = local_airflow.airflow(*args, env=env, stdout=log, stderr=log)
    if result.returncode != 0:
        log.flush()
        tail = log_path.read_text().splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        print(f"\nFAILED: airflow {' '.join(args)} (full log: {log_path})", file=sys.stderr)
    return result.returncode == 0


def _summarize(seconds: float) -> None:
    import polars as pl

    report_uri = datasets.partition_uri(REPORT, DS)
    curated = f"{settings.load().data_root}/curated"
    print(f"\nOutputs for ds={DS}:")
    for output in sorted(Path(curated).glob(f"*/ds={DS}")) if "://" not in curated else []:
        print(f"  {output}/")
    report = datasets.scan(f"{report_uri}*.parquet").collect()
    table = pl.Config(
        tbl_rows=20,
        tbl_width_chars=160,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    )
    with table:
        print(f"\n{report_uri} ({report.height} rows):\n{report}")
    log_path = Path(os.environ["AIRFLOW_HOME"]) / "demo.log"
    print(f"\nDemo finished in {seconds:.0f} s. Log: {log_path}")


if __name__ == "__main__":
    raise SystemExit(main())
