"""The task decorator for Polars queries, and tasks several DAGs share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.sdk import XComArg, task, teardown

from {{ cookiecutter.package_name }} import compute
from {{ cookiecutter.package_name }}.auth import authenticate


def polars_task(python_callable: Callable[..., Any] | None = None, **task_kwargs: Any) -> Any:
    """``@task`` for a task that runs Polars queries through the ``compute`` helpers.

    Use it as ``@polars_task`` or ``@polars_task(task_id=..., ...)`` (any ``@task`` argument):
    the task authenticates with the Polars Cloud connection when it runs (``@authenticate``).
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        return task(**task_kwargs)(authenticate(fn))

    return decorate(python_callable) if python_callable is not None else decorate


def shutdown_cluster(cluster: compute.Manifest | None = None) -> XComArg:
    """Add a teardown task that stops the manifest's cluster.

    Put it downstream of every query task: ``[query_1(), query_2()] >> shutdown_cluster()``.
    As a teardown it runs once its upstream tasks are done, whatever their outcome, and it
    does not decide the run's state: a failed query still fails the run, and the cluster
    still stops. (A plain ``trigger_rule=ALL_DONE`` task would succeed as the last task and
    mark a run with a failed query as successful.) It succeeds when nothing is running.
    """

    @teardown
    @authenticate
    def shutdown_cluster() -> bool:
        return compute.shutdown(cluster)

    return shutdown_cluster()
