"""OpenLineage for ``@polars_task`` (the extra ``openlineage``; README, "Lineage";
docs/design-lineage.md): while a task body runs, what it reads and the task's OpenLineage run,
which its Polars Cloud queries nest under. Imports neither Airflow nor OpenLineage until asked:
the local engine's child process and the command-line tools import it, through ``compute``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

QUERY_JOB_SUFFIX = ".polars_query"  # the queries' job: the task's job name plus this


@dataclass(frozen=True)
class ParentJob:
    """The Airflow task's OpenLineage job and run, as the listener's events carry them."""

    namespace: str
    name: str  # "<dag_id>.<task_id>"
    run_id: str


@dataclass
class Recording:
    parent: ParentJob | None = None  # None: OpenLineage is off
    reads: list[str] = field(default_factory=list)


_current: ContextVar[Recording | None] = ContextVar("polars_lineage_recording", default=None)
_warned: set[str] = set()


@contextmanager
def recording(operator: Any, context: Any) -> Iterator[Recording]:
    """Record what the task body reads into ``operator._lineage``, under the task's run."""
    operator._lineage = Recording(parent=parent_job(context))
    token = _current.set(operator._lineage)
    try:
        yield operator._lineage
    finally:
        _current.reset(token)


def read(uris: str | list[str]) -> None:
    """The running task body scans ``uris`` (a glob, a directory, files); outside one, nothing."""
    into = _current.get()
    if into is None:
        return
    for uri in [uris] if isinstance(uris, str) else uris:
        if uri not in into.reads:
            into.reads.append(uri)


def enabled() -> bool:
    """The OpenLineage provider is installed and has somewhere to send events."""
    try:
        from airflow.providers.openlineage import conf
    except ImportError:
        return False
    return not conf.is_disabled()


def parent_job(context: Any) -> ParentJob | None:
    """The task's OpenLineage job and run (the provider's macros); None when it is off."""
    if not enabled():
        return None
    try:
        from airflow.providers.openlineage.plugins import macros

        ti = context["ti"]
        return ParentJob(
            namespace=str(macros.lineage_job_namespace()),
            name=str(macros.lineage_job_name(ti)),
            run_id=str(macros.lineage_run_id(ti)),
        )
    except Exception:  # lineage must never fail the task
        log.warning("Could not work out the task's OpenLineage run", exc_info=True)
        return None


def nest(remote: Any) -> Any:
    """``remote`` (a ``LazyFrameRemote``) under the running task's OpenLineage run, if any,
    through the unstable ``with_lineage``: without it, the query runs without the parent."""
    running = _current.get()
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


def operator_lineage(operator: Any) -> Any:
    """The operator's ``OperatorLineage`` so far; None without the OpenLineage provider."""
    try:
        from polars_cloud_provider.lineage import facets
    except ImportError:
        return None
    running = getattr(operator, "_lineage", None)
    task_run = getattr(operator, "_task_run", None)
    return facets.operator_lineage(
        reads=running.reads if running is not None else [],
        query=task_run.record if task_run is not None else None,
    )
