"""``make run DAG=<dag_id> [DS=<YYYY-MM-DD>]``: one DAG, end to end on this machine, with
``airflow dags test`` on the local backend, then what it wrote (docs/design-devtools.md)."""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import IO, Any

from polars_cloud_provider.devtools import local_airflow
from polars_cloud_provider.devtools.project import Project
from polars_cloud_provider.devtools.sample_data import SampleData, SampleDataRefused

USAGE = "usage: make run DAG=<dag_id> [DS=YYYY-MM-DD]"
SHOWN_ROWS = 20


def main(project: Project, argv: list[str]) -> int:
    args = [arg for arg in argv if arg]
    if not 1 <= len(args) <= 2:
        return refuse(USAGE)
    dag_id, ds = args[0], args[1] if len(args) == 2 else None
    if ds is not None and not _is_date(ds):  # before parsing the DAGs, which takes seconds
        return refuse(f"DS={ds!r} is not a date: use YYYY-MM-DD.")
    env, dags = local_dags(project)
    problem = refusal(project, dags, dag_id, ds)
    if problem:
        return refuse(problem)
    day = ds or project.first_day(dags.dags[dag_id])
    return run_dags(project, [(dag_id, day)], env, "run.log")


def refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def local_dags(project: Project) -> tuple[dict[str, str], Any]:
    """Point this process (before it imports Airflow) at the local Airflow: its environment, and
    every DAG in dags/ as the DAG processor parses them."""
    env = local_airflow.local_environment(project)
    os.environ.update(env)
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"  # this process only parses
    from airflow.dag_processing.dagbag import DagBag

    return env, DagBag(dag_folder=env["AIRFLOW__CORE__DAGS_FOLDER"])


def refusal(project: Project, dags: Any, dag_id: str, ds: str | None) -> str | None:
    """Why ``dag_id`` cannot run for ``ds`` (a YYYY-MM-DD day; main checks it), or None."""
    if dag_id not in dags.dags:
        there = ", ".join(sorted(dags.dags)) or "none"
        broken = sorted(Path(file).name for file in dags.import_errors)
        unparsed = f"; these files do not parse: {', '.join(broken)}" if broken else ""
        return f"No DAG {dag_id!r} in dags/ (DAGs: {there}){unparsed}."
    if ds is None:
        return None
    dag = dags.dags[dag_id]
    start = project.first_day(dag)
    if ds < start:
        return (
            f"DS={ds} is before the start date of {dag_id}, {start}: Airflow would run "
            f"nothing and call it a success. Use DS={start} or later."
        )
    if dag.end_date and ds > dag.end_date.date().isoformat():
        end = dag.end_date.date().isoformat()
        return f"DS={ds} is after the end date of {dag_id}, {end}: Airflow would run nothing."
    return None


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == len("YYYY-MM-DD")


def run_dags(
    project: Project, runs: list[tuple[str, str]], env: dict[str, str], log_name: str
) -> int:
    """Run each (dag_id, ds) with `airflow dags test` and show its outputs; stop at a failure."""
    sample_data = SampleData(project)
    started = time.monotonic()
    log_path = Path(env["AIRFLOW_HOME"]) / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        print("Preparing the local Airflow metadata DB ...", flush=True)
        if not local_airflow.migrate(env, log):
            return _failed("airflow db migrate", log, log_path)
        for dag_id, ds in runs:
            try:
                samples = sample_data.write(days=[ds], only_missing=True)
            except SampleDataRefused as refused:
                print(f"FAILED before running {dag_id} for {ds}: {refused}", file=sys.stderr)
                return 1
            for name, paths in samples.items():
                for path in paths:
                    print(f"Sample data for {name}: {path}")
            before = _partitions(project, ds)
            print(f"Running {dag_id} for {ds} with `airflow dags test` ...", flush=True)
            command = ("dags", "test", dag_id, ds)
            if local_airflow.airflow(*command, env=env, stdout=log, stderr=log).returncode != 0:
                return _failed(f"airflow dags test {dag_id} {ds}", log, log_path)
            _show(project, dag_id, ds, before)
    print(f"\nFinished in {time.monotonic() - started:.0f} s. Airflow's log: {log_path}")
    return 0


def _failed(command: str, log: IO[str], log_path: Path) -> int:
    log.flush()
    print("\n".join(log_path.read_text().splitlines()[-40:]), file=sys.stderr)
    print(f"\nFAILED: {command} (full log: {log_path})", file=sys.stderr)
    return 1


def _partitions(project: Project, ds: str) -> dict[Path, tuple[int, int]]:
    """Every output partition for ``ds`` under a local data root, with what identifies it."""
    curated = project.settings(os.environ).data_root + "/curated"
    if "://" in curated:
        return {}
    return {
        path: (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in Path(curated).glob(f"*/ds={ds}")
    }


def _show(project: Project, dag_id: str, ds: str, before: dict[Path, tuple[int, int]]) -> None:
    import polars as pl

    root = project.settings(os.environ).data_root
    if "://" in root:
        print(f"\n{dag_id} wrote under {root}/curated/ (partitions ds={ds}).")
        return
    now = _partitions(project, ds)
    written = sorted(path for path, seen in now.items() if before.get(path) != seen)
    print(f"\n{dag_id} wrote {len(written)} output partition(s) for ds={ds}:")
    with pl.Config(
        tbl_rows=SHOWN_ROWS,
        tbl_width_chars=160,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        for path in written:
            frame = pl.read_parquet(path / "*.parquet")
            print(f"\n{path}/ ({frame.height} rows):\n{frame}")
