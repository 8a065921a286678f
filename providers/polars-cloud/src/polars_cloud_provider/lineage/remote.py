"""Polars Cloud queries nest under the Airflow task's OpenLineage run.

polars-cloud 0.12.0 (checked; the only release this provider allows) has
``LazyFrameRemote.with_lineage(job_namespace=, job_name=, parent_run_id=,
parent_job_namespace=, parent_job_name=)`` (query/ext.py), which builds a
``polars_cloud.query.lineage.LineageContext`` that the compute plane puts on the events it
emits (when the cluster has a lineage transport). The API is marked unstable: a release
without the method, or one that refuses the arguments, still runs the query, only without
the parent (logged once).
"""

from __future__ import annotations

import logging
from typing import Any

from polars_cloud_provider.lineage import recorder

log = logging.getLogger(__name__)

QUERY_JOB_SUFFIX = ".polars_query"
"""The remote query's job is the task's job name plus this (one job per task's queries)."""

_warned: set[str] = set()


def nest(remote: Any) -> Any:
    """``remote`` (a ``LazyFrameRemote``) with the running task's OpenLineage parent, if any."""
    running = recorder.current()
    parent = running.parent if running is not None else None
    if parent is None:  # OpenLineage is off, or no @polars_task is running
        return remote
    with_lineage = getattr(remote, "with_lineage", None)
    if with_lineage is None:
        _warn_once("absent", "This polars-cloud has no LazyFrameRemote.with_lineage")
        return remote
    try:
        with_lineage(
            job_namespace=parent.namespace,
            job_name=parent.name + QUERY_JOB_SUFFIX,
            parent_run_id=parent.run_id,
            parent_job_namespace=parent.namespace,
            parent_job_name=parent.name,
        )
    except (TypeError, ValueError) as error:  # an unstable API changed its arguments
        _warn_once("refused", f"LazyFrameRemote.with_lineage refused the task's run: {error}")
    return remote


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning("%s: queries run without an OpenLineage parent.", message)
