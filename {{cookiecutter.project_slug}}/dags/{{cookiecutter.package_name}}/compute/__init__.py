"""Run Polars queries from Airflow tasks: the only API DAG files use for compute.

Call these inside a task decorated with ``@authenticate``; they run on Polars Cloud or, when
the connection says ``{"backend": "local"}``, in-process. Importing this package is cheap
(no polars, no polars_cloud), so DAG files can import it at the top. Every failure goes
through the table in ``failures``: a permanent one fails the task without retries (as a
``compute.permanent.PermanentFailure``).

- ``sink``: run a query and write it to a directory URI; wait; fail the task unless SUCCESS.
- ``submit``: the same without waiting (fire-and-forget); returns the query id.
- ``execute``: run a query to intermediate storage; wait; return the result locations.
- ``shutdown``: stop a manifest's cluster; succeeds when nothing is running.
- ``immediate_shutdown``: a context whose cluster stops as soon as the block ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.compute import execution
from {{ cookiecutter.package_name }}.compute.backend import Backend, active
from {{ cookiecutter.package_name }}.compute.clusters import (
    DISTRIBUTED,
    MODES,
    SINGLE_NODE,
    Cluster,
    Manifest,
    Mode,
    Specs,
)
from {{ cookiecutter.package_name }}.compute.errors import (
    ComputeError,
    NotAuthenticated,
    QueryFailed,
    QueryInterrupted,
    QueryTimedOut,
)
from {{ cookiecutter.package_name }}.compute.failures import classified

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "DISTRIBUTED",
    "SINGLE_NODE",
    "ComputeError",
    "Live",
    "Manifest",
    "NotAuthenticated",
    "QueryFailed",
    "QueryInterrupted",
    "QueryTimedOut",
    "Specs",
    "execute",
    "immediate_shutdown",
    "shutdown",
    "sink",
    "submit",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Live:
    """A cluster handle opened by ``immediate_shutdown``; pass it as ``on=``."""

    cluster: Cluster
    backend: Backend
    handle: Any


def sink(
    lf: pl.LazyFrame,
    to: str,
    *,
    on: Cluster | Live,
    mode: Mode = DISTRIBUTED,
    retry_timeout: bool = False,
) -> str:
    """Run ``lf`` on ``on``, write it under the directory ``to`` and wait for SUCCESS.

    Returns the query id. Any other final status fails the task with the id and status.
    A query past the query timeout is cancelled and fails the task without retries, unless
    ``retry_timeout=True``: then Airflow's retries submit it again.
    """
    with classified(writing=to, retry_timeout=retry_timeout):
        live = _live(on)
        outcome = execution.run(live, lf, _mode(mode), _directory(to))
    log.info("Query %s wrote %s", outcome.query_id, to)
    return outcome.query_id


def submit(lf: pl.LazyFrame, to: str, *, on: Cluster | Live, mode: Mode = DISTRIBUTED) -> str:
    """Fire-and-forget: submit ``lf`` to write under ``to`` and return its id without waiting.

    The task succeeds once the query is accepted; whether the query itself succeeds is only
    visible in Polars Cloud. Nothing downstream may rely on its output.
    """
    with classified(writing=to):
        live = _live(on)
        query_id = execution.submit(live, lf, _mode(mode), _directory(to))
    log.info("Submitted query %s (not awaited) to write %s", query_id, to)
    return query_id


def execute(
    lf: pl.LazyFrame, *, on: Cluster | Live, mode: Mode = DISTRIBUTED, retry_timeout: bool = False
) -> list[str]:
    """Run ``lf`` to intermediate storage, wait for SUCCESS and return the result locations.

    The locations are parquet files another task can scan (pass them through XCom).
    Polars Cloud deletes intermediate results after some hours: sink what must persist.
    ``retry_timeout``: as for ``sink``.
    """
    with classified(retry_timeout=retry_timeout):
        live = _live(on)
        outcome = execution.run(live, lf, _mode(mode), None)
    if not outcome.locations:
        raise QueryFailed(outcome.query_id, "SUCCESS", "the query reported no result locations")
    log.info("Query %s left %d result file(s)", outcome.query_id, len(outcome.locations))
    return outcome.locations


def shutdown(cluster: Manifest | None = None) -> bool:
    """Stop the named manifest's cluster now. Returns False when no cluster was live."""
    cluster = cluster or Manifest()
    if not isinstance(cluster, Manifest):
        raise TypeError(
            "shutdown() stops a named manifest's cluster; an unnamed Specs cluster is only "
            "reachable inside immediate_shutdown() or bounded by its idle timeout"
        )
    with classified():
        live = _live(cluster)
        return live.backend.stop(live.handle)


@contextmanager
def immediate_shutdown(cluster: Cluster | None = None) -> Iterator[Live]:
    """Open a cluster for the block and stop it when the block ends, however it ends.

    Wait for every query inside the block (``sink``/``execute`` do): leaving the block stops
    the cluster even if a query is still running. An error raised inside the block is the
    one the task reports; a failure to stop is then only logged. After a clean block, a
    failure to stop fails the task, because the cluster may still be running.
    """
    with classified():
        live = _live(cluster or Manifest())
    try:
        with execution.without_deferral():  # a deferral would leave the block: no
            yield live
    except BaseException:
        try:
            live.backend.stop(live.handle)
        except Exception:
            log.exception("Could not stop the cluster after the error below")
        raise
    with classified():
        live.backend.stop(live.handle)


def _live(on: Cluster | Live) -> Live:
    if isinstance(on, Live):
        return on
    if not isinstance(on, Manifest | Specs):
        raise TypeError(f"on= takes compute.Manifest, compute.Specs or a Live handle, not {on!r}")
    backend = active()
    return Live(cluster=on, backend=backend, handle=backend.connect(on, settings.load()))


def _mode(mode: str) -> Mode:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode  # type: ignore[return-value]


def _directory(uri: str) -> str:
    """Sinks go to directory URIs: a distributed sink to ``.../name.parquet`` is refused.

    As in polars-cloud (query/_utils.py ~l.92), only what follows the last "/" can make a
    URI look like a file: ``s3://b/v1.2/`` is a directory.
    """
    last = uri.rsplit("/", 1)[-1]
    if "." in last:
        raise ValueError(
            f"Sink to a directory such as '.../{last.split('.')[0]}/', not to the file {uri!r}"
        )
    return uri if uri.endswith("/") else f"{uri}/"
