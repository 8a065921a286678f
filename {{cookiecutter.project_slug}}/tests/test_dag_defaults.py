"""What every DAG shares (dag_defaults.py): retries that back off, and more time than a query."""

from __future__ import annotations

from datetime import timedelta

from polars_cloud_provider import settings as provider_settings

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.dag_defaults import DEFAULT_ARGS, EXECUTION_MARGIN


def test_retries_back_off_from_the_retry_delay_setting() -> None:
    assert DEFAULT_ARGS["retries"] >= 2
    assert DEFAULT_ARGS["retry_delay"] == timedelta(seconds=settings.load().retry_delay_s)
    assert DEFAULT_ARGS["retry_exponential_backoff"] > 1
    assert DEFAULT_ARGS["max_retry_delay"] >= DEFAULT_ARGS["retry_delay"]


def test_every_task_gets_more_time_than_its_query_timeout(dagbag) -> None:
    """The query timeout fires first and names the query; Airflow's execution_timeout is the
    backstop for everything around it (starting a cluster, planning)."""
    query_timeout = timedelta(seconds=provider_settings.load().query_timeout_s)
    assert DEFAULT_ARGS["execution_timeout"] == query_timeout + EXECUTION_MARGIN
    short = {
        f"{dag.dag_id}.{task.task_id}": task.execution_timeout
        for dag in dagbag.dags.values()
        for task in dag.tasks
        if task.execution_timeout is None or task.execution_timeout <= query_timeout
    }
    assert short == {}


def test_every_polars_task_logs_in_with_the_settings_connection(dagbag) -> None:
    from polars_cloud_provider.operators.polars_task import PolarsTaskOperator

    conn_ids = {
        task.polars_cloud_conn_id
        for dag in dagbag.dags.values()
        for task in dag.tasks
        if isinstance(task, PolarsTaskOperator)
    }
    assert conn_ids <= {settings.load().conn_id}
