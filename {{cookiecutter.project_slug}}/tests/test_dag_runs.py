"""Whole DAG runs through dag.test(): Polars Cloud played by the autospec fake, or the
local backend running real Polars on broken inputs. The DAGs are chosen by what they do
(a shutdown teardown; a task waiting for a query over an input), never by name."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import polars_cloud as pc
import pytest
from conftest import DAG_IDS, first_day, parsed_dag, parsed_dags, run_dag
from dag_inspection import compute_calls, task_callable
from dag_plans import plan
from sample_runs import data_root, plan_and_write_inputs

from {{ cookiecutter.package_name }} import datasets


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
