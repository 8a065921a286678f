"""Deferral race benchmark (opt-in): do deferred tasks survive Airflow 3.3.2's resume race?

    uv run python benchmarks/deferral_race.py                # 20 runs, as issue 16 asks
    uv run python benchmarks/deferral_race.py --runs 3 --load 2 --settle 0

It bakes the template (default answers), copies ``dags/deferral_race.py`` into the bake and
deploys it for real (``tests/airflow_deployment.py``: PostgreSQL 15, scheduler with the
LocalExecutor and 2 worker slots, dag-processor, triggerer, api-server; local backend). Each
run triggers the DAG once: its tasks wait ``--defer-after`` seconds for their query on the
worker, defer, and the query ends about a second later, the moment the race needs
(``triggers/query.py`` explains it). ``--load N`` starts N busy processes for the whole
benchmark, slowing the scheduler, the executor's report of each worker's exit and
everything else (on a shared machine it slows other work too: off by default).
``--settle`` is ``resume_settle_s`` (10 by default; 0 measures the race without the hold).

It reports, over all runs: tasks that deferred, tasks that failed, and of those the ones
Airflow's scheduler failed for a "state mismatch" (its event log's name for the race).
The goal (issue 16): none failed by the race in 20 runs with the scheduler slowed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from airflow_deployment import Deployment, package_of, sync_environment  # noqa: E402
from run import bake  # noqa: E402

DAG_FILE = HERE / "dags" / "deferral_race.py"
DAG_ID = "deferral_race"
PACKAGE = "polars_cloud_pipelines"
SLOTS = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=4, help="deferred tasks per run")
    parser.add_argument("--defer-after", type=float, default=2.0, help="defer_after_s")
    parser.add_argument("--settle", type=float, default=10.0, help="resume_settle_s")
    parser.add_argument("--load", type=int, default=0, help="busy processes slowing it all")
    args = parser.parse_args(argv)
    started = time.monotonic()
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(args.load)]
    for burner in burners:
        burner.start()
    try:
        totals = _measure(args)
    finally:
        for burner in burners:
            burner.terminate()
    print(
        f"Deferral race: {args.runs} runs x {args.tasks} tasks, defer_after_s "
        f"{args.defer_after:g}, query {args.defer_after + 1:g} s, resume_settle_s "
        f"{args.settle:g}, {args.load} busy processes, {time.monotonic() - started:.0f} s"
    )
    print(
        f"deferred: {totals['deferred']}/{totals['tasks']}, failed: {totals['failed']}, "
        f"failed by the race (state mismatch): {totals['race']}, runs failed: "
        f"{totals['runs_failed']}/{args.runs}"
    )
    return 0 if totals["race"] == 0 and totals["failed"] == 0 else 1


def _burn() -> None:
    while True:
        pass


def _measure(args: argparse.Namespace) -> dict[str, int]:
    totals = dict.fromkeys(("tasks", "deferred", "failed", "race", "runs_failed"), 0)
    with tempfile.TemporaryDirectory(prefix="benchmarks-deferral-race-") as scratch:
        project = bake(Path(scratch) / "bake")
        if package_of(project) != PACKAGE:
            raise SystemExit(f"{DAG_FILE.name} imports {PACKAGE}, the bake has another package")
        sync_environment(project)
        shutil.copy(DAG_FILE, project / "dags")
        settings = {
            "defer_after_s": str(args.defer_after),
            "resume_settle_s": str(args.settle),
        }
        env = {
            "DEFERRAL_RACE_TASKS": str(args.tasks),
            "DEFERRAL_RACE_QUERY_S": str(args.defer_after + 1),
        }
        with Deployment.up(project, parallelism=SLOTS, settings=settings, extra_env=env) as live:
            live.wait_for_dags({DAG_ID})
            if errors := live.api.import_errors():
                raise SystemExit(f"the DAG file does not import: {errors}")
            live.api.unpause(DAG_ID)
            for number in range(args.runs):
                day = date(2026, 1, 1) + timedelta(days=number)  # a partition per run
                run_id = live.api.trigger(DAG_ID, day.isoformat(), run_id=f"race_{number}")
                run = live.wait_for_run(DAG_ID, run_id, timeout_s=600)
                events = live.api.event_logs(DAG_ID, run_id)
                tis = live.api.task_instances(DAG_ID, run_id)
                deferred = {e["task_id"] for e in events if e["event"] == "deferred"}
                mismatch = {e["task_id"] for e in events if e["event"] == "state mismatch"}
                failed = {t for t, ti in tis.items() if ti["state"] != "success"}
                totals["tasks"] += len(tis)
                totals["deferred"] += len(deferred)
                totals["failed"] += len(failed)
                totals["race"] += len(failed & mismatch)
                totals["runs_failed"] += run["state"] != "success"
                print(
                    f"run {number}: {run['state']}, deferred {len(deferred)}, failed "
                    f"{sorted(failed)}, state mismatch {sorted(mismatch)}",
                    flush=True,
                )
    return totals


if __name__ == "__main__":
    raise SystemExit(main())
