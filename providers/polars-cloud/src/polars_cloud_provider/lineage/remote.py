"""Polars Cloud queries nest under the Airflow task's OpenLineage run, through the unstable
``LazyFrameRemote.with_lineage`` (docs/design-lineage.md): a release without it, or refusing
its arguments, still runs the query, only without the parent (logged once)."""

from __future__ import annotations

import logging
from typing import Any

from polars_cloud_provider.lineage import recorder

log = logging.getLogger(__name__)

QUERY_JOB_SUFFIX = ".polars_query"  # the queries' job: the task's job name plus this

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
