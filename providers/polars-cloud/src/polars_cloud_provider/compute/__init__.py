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

import glob
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from polars_cloud_provider import settings
from polars_cloud_provider.compute.clusters import (
    DISTRIBUTED,
    MODES,
    SINGLE_NODE,
    Cluster,
    Manifest,
    Mode,
    Specs,
)
from polars_cloud_provider.compute.errors import (
    ComputeError,
    NotAuthenticated,
    QueryFailed,
    QueryInterrupted,
    QueryTimedOut,
)

# What runs queries (execution, failures, engines, lineage) is imported by the helpers when
# they run, not here: every DAG file imports this package, and each import is paid per parse.
if TYPE_CHECKING:
    import polars as pl

    from polars_cloud_provider.engines.backend import Backend

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
    "scan_parquet",
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
    from polars_cloud_provider.compute import execution
    from polars_cloud_provider.compute.failures import classified

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
    from polars_cloud_provider.compute import execution
    from polars_cloud_provider.compute.failures import classified

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
    from polars_cloud_provider.compute import execution
    from polars_cloud_provider.compute.failures import classified

    with classified(retry_timeout=retry_timeout):
        live = _live(on)
        outcome = execution.run(live, lf, _mode(mode), None)
    if not outcome.locations:
        raise QueryFailed(outcome.query_id, "SUCCESS", "the query reported no result locations")
    log.info("Query %s left %d result file(s)", outcome.query_id, len(outcome.locations))
    return outcome.locations


def shutdown(cluster: Manifest) -> bool:
    """Stop the named manifest's cluster now. Returns False when no cluster was live."""
    if not isinstance(cluster, Manifest):
        raise TypeError(
            "shutdown() stops a named manifest's cluster; an unnamed Specs cluster is only "
            "reachable inside immediate_shutdown() or bounded by its idle timeout"
        )
    from polars_cloud_provider.compute.failures import classified

    with classified():
        live = _live(cluster)
        return live.backend.stop(live.handle)


@contextmanager
def immediate_shutdown(cluster: Cluster) -> Iterator[Live]:
    """Open a cluster for the block and stop it when the block ends, however it ends.

    Wait for every query inside the block (``sink``/``execute`` do): leaving the block stops
    the cluster even if a query is still running. An error raised inside the block is the
    one the task reports; a failure to stop is then only logged. After a clean block, a
    failure to stop fails the task, because the cluster may still be running.
    """
    from polars_cloud_provider.compute import execution
    from polars_cloud_provider.compute.failures import classified

    with classified():
        live = _live(cluster)
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


def scan_parquet(
    uris: str | list[str],
    *,
    dataset: str | None = None,
    ds: str | None = None,
    produced: bool = False,
) -> pl.LazyFrame:
    """Lazily scan parquet at ``uris`` (a glob, a directory, or result locations from XCom)
    with the storage options of the running task's engine: the local engine reads with the
    configured ones, Polars Cloud with the cluster's own.

    ``dataset`` names what is read (``ds``: its day; ``produced``: another task's output):
    failures then name it, and the local engine fails at once, without retries, when a
    local path matches no file. An object store is listed by the query itself, within the
    query's time bound.
    """
    import polars as pl

    from polars_cloud_provider.compute.failures import record_read
    from polars_cloud_provider.engines.backend import current as current_backend
    from polars_cloud_provider.lineage import recorder as lineage

    if dataset is not None and isinstance(uris, str):
        record_read(dataset, uris)  # failures name the datasets a task read
    lineage.read(uris)  # OpenLineage inputs of the running @polars_task
    chosen = current_backend()
    # An engine that only plans queries (a test's query-plan check) stands in for storage.
    planned = getattr(chosen, "plan_scan", None)
    if planned is not None:
        return planned(uris, dataset, produced=produced)
    if dataset is not None and chosen is not None and chosen.name != "cloud":
        _require_local_files("Output" if produced else "Input", dataset, ds, uris)
    current = settings.load()
    options = chosen.scan_options(current) if chosen else current.storage_options
    return pl.scan_parquet(uris, storage_options=options)


def _require_local_files(kind: str, dataset: str, ds: str | None, uris: str | list[str]) -> None:
    for uri in [uris] if isinstance(uris, str) else uris:
        if "://" in uri and not uri.startswith("file://"):
            continue
        if not glob.glob(uri.removeprefix("file://")):
            from polars_cloud_provider.compute.permanent import PermanentFailure

            day = f" for ds={ds}" if ds is not None else ""
            # Without retries: a retry minutes later would find the same empty place.
            raise PermanentFailure(
                f"{kind} {dataset!r}{day}: no parquet file at {uri}", what="missing input"
            )


def _live(on: Cluster | Live) -> Live:
    if isinstance(on, Live):
        return on
    if not isinstance(on, Manifest | Specs):
        raise TypeError(f"on= takes compute.Manifest, compute.Specs or a Live handle, not {on!r}")
    from polars_cloud_provider.engines.backend import active

    backend = active()
    return Live(cluster=on, backend=backend, handle=backend.connect(on, settings.load()))


def _mode(mode: str) -> Mode:
    for known in MODES:
        if mode == known:
            return known
    raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")


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
