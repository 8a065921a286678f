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
    """``@task`` for a task running one Polars query through ``compute``: it logs in with
    the connection, cancels its query when stopped, reattaches on retry, links to the query
    and, with ``deferrable=True`` (default: ``[operators] default_deferrable``), gives its
    worker slot back while the query runs. Also ``polars_cloud_conn_id``; any ``@task``
    argument. Registered as ``@task.polars_cloud``; see ``operators/polars_task.py``."""
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=PolarsTaskOperator,
        **task_kwargs,
    )


def shutdown_cluster(cluster: compute.Manifest, **task_kwargs: Any) -> XComArg:
    """A teardown task stopping the manifest's cluster at the end of each run: put it
    downstream of every query task. As a teardown it runs whatever their outcome and does
    not decide the run's state (a plain ``ALL_DONE`` task would mark a failed run a
    success). Only safe when no other run uses the cluster: the DAG must have
    ``max_active_runs=1`` (checked), and while another run is active (a backfill is not
    counted by that limit) the cluster is left to its idle timeout."""
    if not isinstance(cluster, compute.Manifest):
        raise TypeError(
            "shutdown_cluster() stops a named manifest's cluster (compute.Manifest), "
            f"not {cluster!r}"
        )

    @teardown
    @polars_task(**task_kwargs)
    def shutdown_cluster(dag_run: Any = None, ti: Any = None) -> bool:
        if ti is not None and dag_run is not None:
            active = ti.get_dr_count(dag_id=dag_run.dag_id, states=["queued", "running"])
            if active > 1:
                why = "the cluster is left to its idle timeout, not stopped under the others"
                log.info("%d runs of %s are active: %s", active, dag_run.dag_id, why)
                return False
        return compute.shutdown(cluster)

    stop = shutdown_cluster()
    dag = stop.operator.dag
    if dag is not None and dag.max_active_runs != 1:
        raise ValueError(
            f"{dag.dag_id}: shutdown_cluster() stops the cluster of {cluster.name!r} at the "
            f"end of every run, so two runs at once (max_active_runs={dag.max_active_runs}) "
            "would stop it under each other: pass max_active_runs=1 to the DAG, or drop the "
            "shutdown and let the manifest's idle timeout stop the cluster."
        )
    return stop
