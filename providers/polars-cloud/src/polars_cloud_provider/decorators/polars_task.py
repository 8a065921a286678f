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

ACTIVE_RUN_STATES = ["queued", "running"]


def polars_task(python_callable: Callable[..., Any] | None = None, **task_kwargs: Any) -> Any:
    """``@task`` for a task that runs Polars queries through the ``compute`` helpers.

    Use it as ``@polars_task`` or ``@polars_task(task_id=..., ...)`` (any ``@task`` argument,
    plus ``polars_cloud_conn_id`` and ``deferrable``; both may come from the DAG's
    ``default_args``). The task logs in with the Polars Cloud connection when it runs,
    cancels its query when Airflow stops it, finds an earlier try's query again instead of
    submitting a duplicate, links to the query in Polars Cloud and, with ``deferrable=True``
    (default: Airflow's ``[operators] default_deferrable``), gives its worker slot back while
    the query runs. See ``operators/polars_task.py``. Registered as ``@task.polars_cloud``.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=PolarsTaskOperator,
        **task_kwargs,
    )


def shutdown_cluster(cluster: compute.Manifest, **task_kwargs: Any) -> XComArg:
    """Add a teardown task that stops the manifest's cluster at the end of each run.

    Put it downstream of every query task: ``[query_1(), query_2()] >> shutdown_cluster(M)``.
    As a teardown it runs once its upstream tasks are done, whatever their outcome, and it
    does not decide the run's state: a failed query still fails the run, and the cluster
    still stops. (A plain ``trigger_rule=ALL_DONE`` task would succeed as the last task and
    mark a run with a failed query as successful.) It succeeds when nothing is running.

    Stopping is only safe when no other run can be using the cluster: the manifest must be
    this DAG's alone and the DAG must run one run at a time (``max_active_runs=1``, checked
    here). Backfill runs are counted apart from that limit (the scheduler caps them with the
    backfill's own ``max_active_runs``), so when another run of the DAG is active the
    teardown leaves the cluster to its idle timeout instead of stopping it under that run.
    """
    if not isinstance(cluster, compute.Manifest):
        raise TypeError(
            "shutdown_cluster() stops a named manifest's cluster (compute.Manifest), "
            f"not {cluster!r}"
        )

    @teardown
    @polars_task(**task_kwargs)
    def shutdown_cluster(dag_run: Any = None, ti: Any = None) -> bool:
        if ti is not None and dag_run is not None:
            active = ti.get_dr_count(dag_id=dag_run.dag_id, states=ACTIVE_RUN_STATES)
            if active > 1:
                log.info(
                    "%d runs of %s are active: the cluster is left to its idle timeout, so "
                    "as not to stop it under the others",
                    active,
                    dag_run.dag_id,
                )
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
