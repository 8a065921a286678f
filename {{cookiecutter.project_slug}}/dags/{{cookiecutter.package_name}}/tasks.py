"""Tasks several DAGs share."""

from __future__ import annotations

from airflow.sdk import XComArg, teardown

from {{ cookiecutter.package_name }} import compute
from {{ cookiecutter.package_name }}.auth import authenticate


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
