"""Whole DAG runs through dag.test(), with Polars Cloud played by the autospec fake."""

from __future__ import annotations

import polars_cloud as pc
import pytest
from dag_inspection import compute_calls, task_callable


def _dag_with_a_shutdown(dagbag):
    for dag in sorted(dagbag.dags.values(), key=lambda d: len(d.tasks)):
        for task in dag.tasks:
            fn = task_callable(task)
            if task.is_teardown and fn is not None and "shutdown" in compute_calls(fn):
                return dag
    pytest.fail("no DAG with a shutdown teardown to run")


def _run(dag):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=dag.fileloc).dags[dag.dag_id]  # a private copy to change
    for task in dag.tasks:
        task.retries = 0  # the shipped retries would hold the test for minutes
    run = dag.test(logical_date=dag.start_date)
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_a_failed_query_fails_the_run_and_the_cluster_still_stops(
    dagbag, airflow_db, fake_cloud, cloud_connection
) -> None:
    dag = _dag_with_a_shutdown(dagbag)
    fake_cloud.finish(pc.QueryStatus.FAILED)
    fake_cloud.cluster(pc.ComputeContextStatus.RUNNING)

    run, states = _run(dag)

    teardowns = {t.task_id for t in dag.tasks if t.is_teardown}
    assert run.state == "failed", states
    assert "failed" in {states[t] for t in states if t not in teardowns}, states
    assert {states[t] for t in teardowns} == {"success"}, states
    fake_cloud.context.stop.assert_called_once_with()


def test_a_successful_run_also_stops_the_cluster(
    dagbag, airflow_db, fake_cloud, cloud_connection
) -> None:
    dag = _dag_with_a_shutdown(dagbag)
    fake_cloud.cluster(pc.ComputeContextStatus.IDLE)

    run, states = _run(dag)

    assert run.state == "success", states
    fake_cloud.context.stop.assert_called_once_with()
