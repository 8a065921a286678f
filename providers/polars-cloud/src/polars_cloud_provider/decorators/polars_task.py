"""The task decorator for Polars queries, and tasks several DAGs share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from airflow.sdk import XComArg, teardown
from airflow.sdk.bases.decorator import task_decorator_factory

from polars_cloud_provider import compute
from polars_cloud_provider.operators.polars_task import PolarsTaskOperator

log = logging.getLogger(__name__)


def polars_task(python_callable: Callable[..., Any] | None = None, **task_kwargs: Any) -> Any:
    """``@task`` (also ``@task.polars_cloud``) for a task running one Polars query through
    ``compute``: it logs in with ``polars_cloud_conn_id``, cancels its query when stopped,
    reattaches on retry, links to the query and, with ``deferrable=True`` (default:
    ``[operators] default_deferrable``), gives its worker slot back while the query runs."""
    return task_decorator_factory(
        python_callable=python_callable, decorated_operator_class=PolarsTaskOperator, **task_kwargs
    )


def shutdown_cluster(cluster: compute.Manifest, **task_kwargs: Any) -> XComArg:
    """A teardown stopping the manifest's cluster at the end of each run, downstream of every
    query task: it runs whatever their outcome and, unlike an ``ALL_DONE`` task, does not
    decide the run's state. The DAG must have ``max_active_runs=1`` (checked); while another
    run is active (a backfill is not counted by that limit) it is left to its idle timeout."""
    if not isinstance(cluster, compute.Manifest):
        raise TypeError(f"shutdown_cluster() stops a compute.Manifest's cluster, not {cluster!r}")

    @teardown
    @polars_task(**task_kwargs)
    def shutdown_cluster(dag_run: Any = None, ti: Any = None) -> bool:
        active = ti.get_dr_count(dag_id=dag_run.dag_id, states=["queued", "running"])
        if active > 1:
            log.info("%d runs are active: the cluster is left to its idle timeout", active)
            return False
        return compute.shutdown(cluster)

    stop = shutdown_cluster()
    dag = stop.operator.dag
    if dag is not None and dag.max_active_runs != 1:
        raise ValueError(
            f"{dag.dag_id}: shutdown_cluster() stops {cluster.name!r}'s cluster at the end of "
            f"every run, under any other (max_active_runs={dag.max_active_runs}): pass "
            "max_active_runs=1 to the DAG, or let the manifest's idle timeout stop the cluster."
        )
    return stop
