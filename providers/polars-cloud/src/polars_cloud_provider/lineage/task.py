"""The operator's side of OpenLineage: record while the body runs, then describe the run.
Cheap to import (DAG files import the operator): the OpenLineage provider is imported inside
the functions, in the task process, and used only when installed and configured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from polars_cloud_provider.lineage import recorder

log = logging.getLogger(__name__)


@contextmanager
def recording(operator: Any, context: Any) -> Iterator[recorder.Recording]:
    """Record what the task body reads into ``operator._lineage``, under the task's run."""
    operator._lineage = recorder.Recording(parent=parent_job(context))
    with recorder.recording(operator._lineage) as into:
        yield into


def enabled() -> bool:
    """The OpenLineage provider is installed and has somewhere to send events."""
    try:
        from airflow.providers.openlineage import conf
    except ImportError:
        return False
    return not conf.is_disabled()


def parent_job(context: Any) -> recorder.ParentJob | None:
    """The task's OpenLineage job and run, as the listener's events carry them (the provider's
    macros); None when OpenLineage is off."""
    if not enabled():
        return None
    try:
        from airflow.providers.openlineage.plugins import macros

        ti = context["ti"]
        return recorder.ParentJob(
            namespace=str(macros.lineage_job_namespace()),
            name=str(macros.lineage_job_name(ti)),
            run_id=str(macros.lineage_run_id(ti)),
        )
    except Exception:  # lineage must never fail the task
        log.warning("Could not work out the task's OpenLineage run", exc_info=True)
        return None


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
        steps=task_run.journal if task_run is not None else [],
    )
