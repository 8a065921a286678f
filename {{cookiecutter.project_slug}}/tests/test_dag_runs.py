"""Whole DAG runs through dag.test(): Polars Cloud played by the autospec fake, or the
local backend running real Polars on broken inputs. The DAGs are chosen by what they do
(a shutdown teardown; a task waiting for a query over an input), never by name."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import polars_cloud as pc
import pytest
from conftest import DAG_IDS, first_day, parsed_dag, parsed_dags, run_dag
from dag_inspection import compute_calls, task_callable
from dag_plans import WAITS, plan
from expected import OUTPUTS, assert_output_matches, output_name
from sample_runs import data_root, plan_and_write_inputs, read, sample_rows

from {{ cookiecutter.package_name }} import datasets
from {{ cookiecutter.package_name }}.dev import sample_data


def _has_a_shutdown_teardown(dag) -> bool:
    for task in dag.tasks:
        fn = task_callable(task)
        if task.is_teardown and fn is not None and "shutdown" in compute_calls(fn):
            return True
    return False


@pytest.fixture
def dag_with_a_shutdown():
    """The smallest DAG with a shutdown teardown (the test is skipped when none has one)."""
    candidates = [dag for dag in parsed_dags().dags.values() if _has_a_shutdown_teardown(dag)]
    if not candidates:
        pytest.skip("no DAG in dags/ has a shutdown teardown")
    return min(candidates, key=lambda dag: (len(dag.tasks), dag.dag_id))


def _assert_failed_but_shut_down(dag, result) -> None:
    teardowns = {t.task_id for t in dag.tasks if t.is_teardown}
    states = result.states
    assert result.state == "failed", result.report()
    assert "failed" in {states[t] for t in states if t not in teardowns}, result.report()
    assert {states[t] for t in teardowns} == {"success"}, result.report()


def test_a_failed_query_fails_the_run_and_the_cluster_still_stops(
    dag_with_a_shutdown, airflow_db, fake_cloud, cloud_connection
) -> None:
    fake_cloud.finish(pc.QueryStatus.FAILED)
    fake_cloud.cluster(pc.ComputeContextStatus.RUNNING)

    result = run_dag(dag_with_a_shutdown.dag_id)

    _assert_failed_but_shut_down(dag_with_a_shutdown, result)
    fake_cloud.context.stop.assert_called_once_with()


def test_a_successful_run_also_stops_the_cluster(
    dag_with_a_shutdown, airflow_db, fake_cloud, cloud_connection
) -> None:
    fake_cloud.cluster(pc.ComputeContextStatus.IDLE)

    result = run_dag(dag_with_a_shutdown.dag_id)

    assert result.state == "success", result.report()
    fake_cloud.context.stop.assert_called_once_with()


def _break(root: Path, inputs: list[str], ds: str) -> list[Path]:
    """Put a file of another schema beside each input's files: scans of it fail mid-query."""
    strays = []
    for name in inputs:
        stray = root / datasets.input_folder(name, ds) / "part-stray.parquet"
        stray.parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"unexpected": ["schema"]}).write_parquet(stray)
        strays.append(stray)
    return strays


def test_a_query_failing_in_polars_fails_its_task_and_the_shutdown_still_runs(
    dag_with_a_shutdown, airflow_db, local_connection, tmp_path
) -> None:
    dag = dag_with_a_shutdown
    planned = plan_and_write_inputs(dag, first_day(dag), tmp_path, rows=10)
    _break(tmp_path, planned.inputs, first_day(dag))

    with data_root(tmp_path):
        result = run_dag(dag.dag_id)

    _assert_failed_but_shut_down(dag, result)
    # The failed task's exception text (Polars' own words), not only its state:
    assert re.search(r"failed: \w+: .*(SchemaError|ColumnNotFoundError)", result.report())
    assert not any((tmp_path / "curated").rglob("*.parquet"))
    # Each failure names what its own task read: not what other tasks, DAGs or tests of this
    # process read before it.
    named = []
    for task_id, texts in result.errors.items():
        own = set(planned.tasks[task_id].inputs) if task_id in planned.tasks else set()
        for name, uri in re.findall(r"read dataset '([^']+)' at (\S+?)[;.]? ", " ".join(texts)):
            assert name in own and uri.startswith(str(tmp_path)), f"{task_id}: {name} {uri}"
            named.append(name)
    assert named, result.report()


def _snapshot(root: Path) -> dict[str, tuple[str, int, int] | None]:
    """Every entry under ``root``: files by content, modification time and inode."""
    entries = {}
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        entries[str(path.relative_to(root))] = (
            (hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_ino)
            if path.is_file()
            else None
        )
    return entries


def _retryable(dag_id: str) -> bool:
    """A task of the DAG waits for its query (a fire-and-forget one has nothing to retry)."""
    dag = parsed_dags().dags.get(dag_id)
    return dag is not None and plan(dag, first_day(dag)).retryable


class LostAfterTheWrite(ConnectionError):
    """What a worker that loses its connection once the task has run looks like to Airflow:
    a transient failure, retried."""


def _fail_first_tries(task_ids: set[str]):
    """Make each task of ``task_ids`` fail its first try once it has run whole (in its
    ``post_execute``, which follows a resumed deferral too)."""

    def prepare(dag) -> None:
        for task in dag.tasks:
            if task.task_id in task_ids:
                task.post_execute = _fail_a_first_try

    return prepare


def _fail_a_first_try(context, *_) -> None:
    if context["ti"].try_number == 1:
        raise LostAfterTheWrite("the worker was lost after the task ran (injected by the test)")


@pytest.mark.parametrize("dag_id", [dag_id for dag_id in DAG_IDS if _retryable(dag_id)])
def test_a_retry_rewrites_its_own_partition_and_nothing_else(
    dag_id, airflow_db, local_connection, tmp_path
) -> None:
    dag = parsed_dag(dag_id)
    ds = first_day(dag)
    planned = plan_and_write_inputs(dag, ds, tmp_path)
    other_day = (date.fromisoformat(ds) - timedelta(days=1)).isoformat()
    for folder in planned.outputs:  # what earlier runs of this day and the day before left
        for day, by in ((ds, "an earlier run"), (other_day, "the day before")):
            earlier = tmp_path / folder.replace(f"ds={ds}", f"ds={day}") / "part-0.parquet"
            earlier.parent.mkdir(parents=True)
            pl.DataFrame({"written_by": [by]}).write_parquet(earlier)
    before = _snapshot(tmp_path / "curated")

    # Every task waiting for a query writes, then fails as a lost worker would: Airflow
    # retries it. The inputs change (other data) before the retries, which must replace
    # what the first tries wrote.
    def change_inputs(context) -> None:
        sample_data.write(str(tmp_path), rows=500, days=[ds])

    awaiting = {task_id for task_id, task in planned.tasks.items() if task.calls & WAITS}
    with data_root(tmp_path):
        result = run_dag(
            dag_id, ds, retries=1, on_retry=change_inputs, prepare=_fail_first_tries(awaiting)
        )

    assert result.state == "success", result.report()
    retried = {ti.task_id for ti in result.run.get_task_instances() if ti.try_number == 2}
    assert retried == awaiting, result.report()
    after = _snapshot(tmp_path / "curated")
    partitions = tuple(f"{folder.removeprefix('curated/')}/" for folder in planned.outputs)
    untouched = {path: seen for path, seen in before.items() if not path.startswith(partitions)}
    assert {path: after.get(path) for path in untouched} == untouched, "it touched another day"
    added = [p for p, seen in after.items() if seen and p not in before]  # files
    assert [p for p in added if not p.startswith(partitions)] == [], "debris outside the day"
    for folder in planned.awaited_outputs:
        partition = f"{folder.removeprefix('curated/')}/"
        assert [p for p in after if p.startswith(partition)] == [f"{partition}part-0.parquet"]
        assert after[f"{partition}part-0.parquet"][0] != before[f"{partition}part-0.parquet"][0]
        # (a DAG reading another's output reads what that DAG wrote before the inputs changed)
        if output_name(folder) in OUTPUTS and not planned.upstream:
            changed = sample_rows(ds, 500)
            assert_output_matches(read(tmp_path, folder), output_name(folder), changed)


def _reads_a_day(dag_id: str) -> bool:
    """The DAG reads an input partitioned by day (datasets.PARTITIONED_BY_DS)."""
    dag = parsed_dags().dags.get(dag_id)
    if dag is None:
        return False
    return bool(set(plan(dag, first_day(dag)).inputs) & datasets.PARTITIONED_BY_DS)


@pytest.mark.parametrize("dag_id", [dag_id for dag_id in DAG_IDS if _reads_a_day(dag_id)])
def test_a_run_without_a_logical_date_fails_at_once_naming_it(
    dag_id, airflow_db, local_connection, tmp_path
) -> None:
    """A run triggered with no logical date has no day to read: it fails without a retry
    (one would fail the same way), and says what is missing."""
    dag = parsed_dag(dag_id)
    plan_and_write_inputs(dag, first_day(dag), tmp_path)

    with data_root(tmp_path):
        result = run_dag(dag_id, None, retries=1)

    assert result.state == "failed", result.report()
    retried = {ti.task_id: ti.try_number for ti in result.run.get_task_instances()}
    assert {task: tries for task, tries in retried.items() if tries > 1} == {}, result.report()
    assert "has no logical date" in result.report(), result.report()
    assert not any((tmp_path / "curated").rglob("*.parquet"))
