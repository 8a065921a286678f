"""Deferral benchmark: query tasks on a real deployment, blocking against deferred.

    uv run python benchmarks/deferral.py           # the full run whose figures go in the README
    uv run python benchmarks/deferral.py --smoke   # 2 tasks of about 2 s: the script works
    uv run python benchmarks/run.py --deferral     # run.py's table with these rows at the end

It bakes the template (default answers), creates the project's ``.venv`` (``uv sync``),
copies ``dags/deferral_benchmark.py`` into the bake's ``dags/`` and writes its input (the
project's sample orders). It times the query once on its own, then deploys the project for
real (``tests/airflow_deployment.py``: PostgreSQL 15, the scheduler with the LocalExecutor
and **2 worker slots**, the dag-processor, triggerer and api-server, the local backend) and
triggers, one after the other, a blocking and a deferred DAG for each of two workloads:
the same independent ``@polars_task`` tasks with ``deferrable=False`` and ``deferrable=True``,
each running one local query. The ``cpu`` workload is real Polars work on this machine's
cores; the ``elsewhere`` workload's query spends its time waiting (a UDF that sleeps), as a
query on Polars Cloud does from the worker's point of view. On 2 cores the ``cpu`` workload
cannot end sooner deferred (the queries still need the same cores: see the CPU floor row);
what deferral gives back is the worker slots, and, when the work runs elsewhere, wall time.
A blocking task runs its query in the worker's task process; a deferred one starts it in a
child process, defers to the trigger that polls it, and resumes when it is done.

Every Polars query runs on one thread (``POLARS_MAX_THREADS=1``, set for the whole
deployment and for the query timed alone): two blocking tasks then have a core each on a
2-core machine, so a blocking task's query takes what the query takes alone.

For each mode it reports:

- **wall time**: from the run's ``queued_at`` (set when the trigger request creates it) to
  its ``end_date``, both as Airflow recorded them;
- **worker-slot-seconds**: the sum, over the run's task instances, of the intervals in which
  a task process was running, from Airflow's event log (``GET /api/v2/eventLogs``). The
  execution API writes a ``running`` event when a worker starts a task process
  (``ti_run``) and a ``deferred``, ``success`` or ``failed`` event when that process reports
  its end (``ti_update_state``). Each ``running`` event is paired with the next end event of
  the same task: a blocking task has one such segment; a deferred task has two (submit, then
  resume), both counted, while the time between them (deferred, waiting for the trigger) is
  not. The script checks that every deferred task deferred exactly once.
- as a cross-check, **workers busy**: how long the LocalExecutor's worker processes were
  away from ``<idle>``, sampled from their process titles every 50 ms. A worker holds its
  slot a little longer than the task process runs (it starts the task's supervisor before
  ``running`` and reports after the end), so this is the slot as the executor sees it.

Goals (issue 11): deferred needs at most 1/3 of the blocking slot-seconds and at most 1/2
of its wall time. A smoke run's sizes say nothing about the goals: it prints numbers only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import psutil  # noqa: E402
from airflow_deployment import (  # noqa: E402
    Deployment,
    package_of,
    sync_environment,
)
from run import Row, bake, print_table, verdict  # noqa: E402

DAG_FILE = HERE / "dags" / "deferral_benchmark.py"
PACKAGE = "polars_cloud_pipelines"  # the package DAG_FILE imports: the default answers'
WORKLOADS = (
    "cpu",
    "elsewhere",
)  # see the DAG file: work on these cores, or waiting on work elsewhere
MODES = ("blocking", "deferred")
DAG_IDS = {(w, m): f"deferral_benchmark_{w}_{m}" for w in WORKLOADS for m in MODES}
SLOTS = 2
POLARS_THREADS = 1
DS = "2026-01-01"
SLOT_GOAL = 1 / 3  # deferred slot-seconds over blocking, at most
WALL_GOAL = 1 / 2  # deferred wall time over blocking, at most
END_EVENTS = {"deferred", "success", "failed", "up_for_retry", "up_for_reschedule"}
"""Event-log events that end a running segment of a task process."""


@dataclass(frozen=True)
class Sizes:
    tasks: int
    rows: int  # sample orders in the input
    passes: int  # price scenarios: how many times each query reads and aggregates the input
    elsewhere_s: float  # what the "elsewhere" workload's query spends waiting
    judged: bool  # whether the sizes are large enough to compare the figures with the goals


FULL = Sizes(
    tasks=8, rows=10_000_000, passes=15, elsewhere_s=15, judged=True
)  # about 15 s a query, here
SMOKE = Sizes(tasks=2, rows=1_000_000, passes=20, elsewhere_s=2, judged=False)  # about 2 s


@dataclass
class ModeResult:
    wall_s: float
    segments: dict[str, list[tuple[datetime, datetime]]]  # task id -> its running intervals
    busy_s: float  # LocalExecutor workers away from <idle>, sampled
    machine_cores: float  # average cores busy on the whole machine during the run

    @property
    def slot_s(self) -> float:
        return sum(
            (end - start).total_seconds()
            for spans in self.segments.values()
            for start, end in spans
        )

    def count(self) -> int:
        return sum(len(spans) for spans in self.segments.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2 tasks of about 2 s")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows = measure(SMOKE if args.smoke else FULL)
    print_table(rows, smoke=args.smoke, seconds=time.monotonic() - started, notes=[SETUP])
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    return 0


SETUP = (
    f"Setup: PostgreSQL 15, LocalExecutor with {SLOTS} worker slots, scheduler, dag-processor,"
    f" triggerer, api-server; local backend; POLARS_MAX_THREADS={POLARS_THREADS}"
)


def measure(sizes: Sizes) -> list[Row]:
    """Bake, deploy, run both modes; the table's rows."""
    with tempfile.TemporaryDirectory(prefix="benchmarks-deferral-") as scratch:
        work = Path(scratch)
        project = bake(work / "bake")
        if package_of(project) != PACKAGE:
            raise SystemExit(f"{DAG_FILE.name} imports {PACKAGE}, the bake has another package")
        sync_environment(project)
        shutil.copy(DAG_FILE, project / "dags")
        data_root = work / "data"
        alone = _query_alone(project, data_root, sizes)
        env = {
            "POLARS_MAX_THREADS": str(POLARS_THREADS),
            "DEFERRAL_BENCHMARK_TASKS": str(sizes.tasks),
            "DEFERRAL_BENCHMARK_PASSES": str(sizes.passes),
            "DEFERRAL_BENCHMARK_ELSEWHERE_S": str(sizes.elsewhere_s),
        }
        # defer_after_s 0: the deferred runs defer every query, as the benchmark compares.
        settings = {"data_root": str(data_root), "defer_after_s": "0"}
        with Deployment.up(project, parallelism=SLOTS, settings=settings, extra_env=env) as live:
            live.wait_for_dags(set(DAG_IDS.values()))
            if errors := live.api.import_errors():
                raise SystemExit(f"the benchmark DAG file does not import: {errors}")
            scheduler = psutil.Process(live.services["scheduler"].popen.pid)
            with WorkerActivity(scheduler).sampling() as workers:
                results = {
                    key: _run(live, dag_id, workers, sizes) for key, dag_id in DAG_IDS.items()
                }
    rows = _rows(sizes, alone, {mode: results["cpu", mode] for mode in MODES})
    return rows + _elsewhere_rows(sizes, {mode: results["elsewhere", mode] for mode in MODES})


def _query_alone(project: Path, data_root: Path, sizes: Sizes) -> dict[str, Any]:
    """Write the input and time the query once with nothing else running."""
    python = project / ".venv" / "bin" / "python"
    home = data_root.parent / "airflow-home-alone"  # importing the DAG file configures Airflow
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "POLARS"))},
        "AIRFLOW_HOME": str(home),
        "PYTHONPATH": str(project / "dags"),
        "POLARS_MAX_THREADS": str(POLARS_THREADS),
    }
    command = [python, HERE / "deferral_child.py", project / "dags" / DAG_FILE.name, data_root]
    command += [str(sizes.rows), str(sizes.passes), "1"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the query alone failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _run(live: Deployment, dag_id: str, workers: WorkerActivity, sizes: Sizes) -> ModeResult:
    live.api.unpause(dag_id)
    since, busy_before = time.monotonic(), _busy_cpu_s()
    run_id = live.api.trigger(dag_id, DS)
    # Generous: a query alone takes ~15 s, and the slowest mode is below 10x that.
    run = live.wait_for_run(dag_id, run_id, timeout_s=300 + 60 * sizes.tasks)
    if run["state"] != "success":
        raise SystemExit(f"{dag_id} failed: {_failed_logs(live, dag_id, run_id)}")
    ended = time.monotonic()
    live.wait(lambda: workers.idle_after(ended), 60, "the workers to be idle")
    segments = running_segments(live.api.event_logs(dag_id, run_id))
    expected = 2 if dag_id.endswith("_deferred") else 1
    odd = {task: len(spans) for task, spans in segments.items() if len(spans) != expected}
    if odd or len(segments) != sizes.tasks:
        raise SystemExit(f"{dag_id}: expected {expected} running segment(s) per task: {segments}")
    until, busy_after = time.monotonic(), _busy_cpu_s()
    return ModeResult(
        wall_s=(_when(run["end_date"]) - _when(run["queued_at"])).total_seconds(),
        segments=segments,
        busy_s=workers.busy_seconds(since, until),
        machine_cores=(busy_after - busy_before) / (until - since),
    )


def running_segments(events: list[dict[str, Any]]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each task's running intervals: a ``running`` event to the next end event."""
    segments: dict[str, list[tuple[datetime, datetime]]] = {}
    opened: dict[str, datetime] = {}
    for event in sorted(events, key=lambda event: event["when"]):
        task, when = event.get("task_id"), _when(event["when"])
        if task is None:
            continue
        if event["event"] == "running":
            opened[task] = when
        elif event["event"] in END_EVENTS and task in opened:
            segments.setdefault(task, []).append((opened.pop(task), when))
    if opened:
        raise SystemExit(f"running segments without an end in the event log: {sorted(opened)}")
    return segments


def _when(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def _failed_logs(live: Deployment, dag_id: str, run_id: str) -> str:
    lines = [live.describe(dag_id, run_id)]
    for task_id, ti in live.api.task_instances(dag_id, run_id).items():
        if ti["state"] != "success":
            log = live.api.task_log(dag_id, run_id, task_id, ti["try_number"])
            lines.append(f"--- {task_id}:\n{log[-2000:]}")
    return "\n".join(lines)


class WorkerActivity:
    """When the LocalExecutor's worker processes were busy, from their process titles.

    Each worker sets its title to ``airflow worker -- LocalExecutor: <idle>`` while it waits
    for a workload and to the workload's name while it runs one (``local_executor.py``,
    ``_run_worker``). A title seen changing between two samples counts from the second one:
    the same delay at both ends, so durations are right to about a sampling interval.
    """

    interval_s = 0.05

    def __init__(self, scheduler: psutil.Process) -> None:
        self.scheduler = scheduler
        self.intervals: list[tuple[float, float]] = []
        self._busy_since: dict[int, float] = {}
        self._last_sample = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @contextlib.contextmanager
    def sampling(self) -> Iterator[WorkerActivity]:
        """Sample every ``interval_s`` in a thread of its own while the block lasts."""
        thread = threading.Thread(target=self._loop, name="worker-activity", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            with contextlib.suppress(psutil.Error):
                self.sample()

    def idle_after(self, moment: float) -> bool:
        """A sample taken after ``moment`` found every worker idle."""
        with self._lock:
            return self._last_sample > moment and not self._busy_since

    def busy_seconds(self, start: float, end: float) -> float:
        with self._lock:
            return sum(max(0.0, min(e, end) - max(s, start)) for s, e in self.intervals)

    def sample(self) -> None:
        titles = {}
        for child in self.scheduler.children():
            with contextlib.suppress(psutil.Error):
                title = " ".join(child.cmdline())
                if "LocalExecutor" in title:
                    titles[child.pid] = title
        now = time.monotonic()
        with self._lock:
            for pid, title in titles.items():
                if "<idle>" not in title:
                    self._busy_since.setdefault(pid, now)
                elif pid in self._busy_since:
                    self.intervals.append((self._busy_since.pop(pid), now))
            for pid in set(self._busy_since) - set(titles):  # the worker is gone
                self.intervals.append((self._busy_since.pop(pid), now))
            self._last_sample = now


def _busy_cpu_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


# -- the table ----------------------------------------------------------------------------


def _rows(sizes: Sizes, alone: dict[str, Any], results: dict[str, ModeResult]) -> list[Row]:
    cores = os.cpu_count() or 1
    floor = sizes.tasks * alone["query_s"] * alone["threads"] / cores
    size = f"{sizes.rows / 1e6:g}M orders x {sizes.passes} scenarios"
    return [
        Row(
            f"deferral: one query alone ({size}, {alone['threads']} Polars thread)",
            f"{alone['query_s']:.1f} s ({alone['input_mb']:.0f} MB of parquet)",
            goal="about 15 s" if sizes.judged else "",
        ),
        Row(
            "deferral: CPU floor (every query's CPU time over the cores)",
            f"{floor:.1f} s ({sizes.tasks} x {alone['query_s']:.1f} s / {cores} cores)",
            goal="no run can end sooner on this machine",
        ),
        *_comparison("deferral", f"{sizes.tasks} tasks, {SLOTS} slots", results, floor, sizes),
        Row(
            "deferral: machine load during the runs (cores busy)",
            " / ".join(
                f"{mode} {result.machine_cores:.2f} of {cores}" for mode, result in results.items()
            ),
        ),
    ]


def _elsewhere_rows(sizes: Sizes, results: dict[str, ModeResult]) -> list[Row]:
    """The same comparison for queries whose time is spent waiting, not on these cores."""
    label = f"{sizes.tasks} tasks, {SLOTS} slots, each query waits {sizes.elsewhere_s:g} s"
    return _comparison("deferral elsewhere", label, results, sizes.elsewhere_s, sizes)


def _comparison(
    prefix: str, label: str, results: dict[str, ModeResult], floor: float, sizes: Sizes
) -> list[Row]:
    """Wall time and worker-slot-seconds, blocking against deferred, and a task of each."""
    blocking, deferred = results["blocking"], results["deferred"]
    wall_ratio = deferred.wall_s / blocking.wall_s
    slot_ratio = deferred.slot_s / blocking.slot_s
    return [
        Row(
            f"{prefix}: wall time, blocking ({label})", _wall(blocking, floor), "1.00x", "baseline"
        ),
        Row(
            f"{prefix}: wall time, deferred ({label})",
            _wall(deferred, floor),
            f"{wall_ratio:.2f}x",
            f"<= {WALL_GOAL:.2f}x",
            verdict(wall_ratio <= WALL_GOAL, sizes),
        ),
        Row(f"{prefix}: worker-slot-seconds, blocking", _slots(blocking), "1.00x", "baseline"),
        Row(
            f"{prefix}: worker-slot-seconds, deferred",
            _slots(deferred),
            f"{slot_ratio:.2f}x",
            f"<= {SLOT_GOAL:.2f}x",
            verdict(slot_ratio <= SLOT_GOAL, sizes),
        ),
        Row(f"{prefix}: a blocking task (median)", _blocking_task(blocking)),
        Row(f"{prefix}: a deferred task (median)", _deferred_task(deferred)),
    ]


def _wall(result: ModeResult, floor: float) -> str:
    return f"{result.wall_s:.1f} s (trigger to run end; {result.wall_s / floor:.2f}x the floor)"


def _slots(result: ModeResult) -> str:
    return (
        f"{result.slot_s:.1f} slot-s ({result.count()} running segments); "
        f"workers busy {result.busy_s:.1f} s"
    )


def _seconds(spans: list[tuple[datetime, datetime]]) -> list[float]:
    return [(end - start).total_seconds() for start, end in spans]


def _blocking_task(result: ModeResult) -> str:
    running = [seconds for spans in result.segments.values() for seconds in _seconds(spans)]
    return f"running {statistics.median(running):.1f} s"


def _deferred_task(result: ModeResult) -> str:
    first, second, waiting = [], [], []
    for (submit, deferred), (resumed, end) in result.segments.values():
        first.append((deferred - submit).total_seconds())
        second.append((end - resumed).total_seconds())
        waiting.append((resumed - deferred).total_seconds())
    return (
        f"running {statistics.median(first):.1f} s to defer, {statistics.median(second):.1f} s "
        f"after resuming; deferred {statistics.median(waiting):.1f} s"
    )


if __name__ == "__main__":
    raise SystemExit(main())
