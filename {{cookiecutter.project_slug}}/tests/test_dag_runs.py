"""Whole DAG runs through dag.test(): Polars Cloud played by the autospec fake, or the
local backend running real Polars on broken inputs."""

from __future__ import annotations

import polars as pl
import polars_cloud as pc
import pytest
from conftest import run_dag
from dag_inspection import compute_calls, task_callable

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.dev import sample_data


def _dag_with_a_shutdown(dagbag):
    for dag in sorted(dagbag.dags.values(), key=lambda d: len(d.tasks)):
        for task in dag.tasks:
            fn = task_callable(task)
            if task.is_teardown and fn is not None and "shutdown" in compute_calls(fn):
                return dag
    pytest.fail("no DAG with a shutdown teardown to run")


def _assert_failed_but_shut_down(dag, run, states) -> None:
    teardowns = {t.task_id for t in dag.tasks if t.is_teardown}
    assert run.state == "failed", states
    assert "failed" in {states[t] for t in states if t not in teardowns}, states
    assert {states[t] for t in teardowns} == {"success"}, states


def test_a_failed_query_fails_the_run_and_the_cluster_still_stops(
    dagbag, airflow_db, fake_cloud, cloud_connection
) -> None:
    dag = _dag_with_a_shutdown(dagbag)
    fake_cloud.finish(pc.QueryStatus.FAILED)
    fake_cloud.cluster(pc.ComputeContextStatus.RUNNING)

    run, states = run_dag(dag.dag_id)

    _assert_failed_but_shut_down(dag, run, states)
    fake_cloud.context.stop.assert_called_once_with()


def test_a_successful_run_also_stops_the_cluster(
    dagbag, airflow_db, fake_cloud, cloud_connection
) -> None:
    dag = _dag_with_a_shutdown(dagbag)
    fake_cloud.cluster(pc.ComputeContextStatus.IDLE)

    run, states = run_dag(dag.dag_id)

    assert run.state == "success", states
    fake_cloud.context.stop.assert_called_once_with()


def test_a_query_failing_in_polars_fails_its_task_and_the_shutdown_still_runs(
    dagbag, airflow_db, local_connection, tmp_path, monkeypatch
) -> None:
    root = tmp_path / "data"
    for name in sample_data.sample_frames(rows=10):
        (root / "raw" / name).mkdir(parents=True)
        pl.DataFrame({"unexpected": [1]}).write_parquet(root / "raw" / name / "part-0.parquet")
    monkeypatch.setenv(settings.env_var("data_root"), str(root))
    dag = _dag_with_a_shutdown(dagbag)

    run, states = run_dag(dag.dag_id)

    _assert_failed_but_shut_down(dag, run, states)
    assert not (root / "curated").exists() or not any((root / "curated").rglob("*.parquet"))
