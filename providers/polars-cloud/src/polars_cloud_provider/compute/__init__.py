"""Run Polars queries from Airflow tasks: the only API DAG files use for compute.

Call these inside a task decorated with ``@authenticate``; they run on Polars Cloud or, when
the connection says ``{"backend": "local"}``, in-process. Importing this package is cheap (no
polars, no polars_cloud). A permanent failure (see ``failures``) fails the task without retries.
Names imported ``as`` themselves are re-exported for DAG files.
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
    Cluster,
    Manifest,
    Mode,
    Specs,
)
from polars_cloud_provider.compute.clusters import SINGLE_NODE as SINGLE_NODE
from polars_cloud_provider.compute.errors import ComputeError as ComputeError
from polars_cloud_provider.compute.errors import NotAuthenticated as NotAuthenticated
from polars_cloud_provider.compute.errors import QueryFailed
from polars_cloud_provider.compute.errors import QueryInterrupted as QueryInterrupted
from polars_cloud_provider.compute.errors import QueryTimedOut as QueryTimedOut

# What runs queries (execution, failures, engines, lineage) is imported by the helpers when
# they run, not here: every DAG file imports this package, and each import is paid per parse.
if TYPE_CHECKING:
    import polars as pl

    from polars_cloud_provider.engines.backend import Backend

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
    """Run ``lf`` on ``on``, write it under the directory ``to``, wait for SUCCESS (any other
    status fails the task) and return the query id. A query past the query timeout is
    cancelled and fails the task without retries, unless ``retry_timeout=True``."""
    outcome = _query(lf, on, mode, to, retry_timeout, wait=True)
    log.info("Query %s wrote %s", outcome.query_id, to)
    return outcome.query_id


def submit(lf: pl.LazyFrame, to: str, *, on: Cluster | Live, mode: Mode = DISTRIBUTED) -> str:
    """Fire-and-forget ``sink``: return the query id without waiting; nothing downstream may
    rely on its output (only Polars Cloud shows whether it succeeded)."""
    query_id = _query(lf, on, mode, to, retry_timeout=False, wait=False)
    log.info("Submitted query %s (not awaited) to write %s", query_id, to)
    return query_id


def execute(
    lf: pl.LazyFrame, *, on: Cluster | Live, mode: Mode = DISTRIBUTED, retry_timeout: bool = False
) -> list[str]:
    """Run ``lf`` to intermediate storage, wait for SUCCESS and return the locations of its
    parquet files (for another task to scan; Polars Cloud deletes them after some hours)."""
    outcome = _query(lf, on, mode, None, retry_timeout, wait=True)
    if not outcome.locations:
        raise QueryFailed(outcome.query_id, "SUCCESS", "the query reported no result locations")
    log.info("Query %s left %d result file(s)", outcome.query_id, len(outcome.locations))
    return outcome.locations


def _query(
    lf: pl.LazyFrame, on: Cluster | Live, mode: str, to: str | None, retry_timeout: bool, wait: bool
) -> Any:
    """The outcome of ``lf`` written to ``to`` (None: intermediate storage), or its id."""
    from polars_cloud_provider.compute import execution
    from polars_cloud_provider.compute.failures import classified

    with classified(writing=to, retry_timeout=retry_timeout):
        live = _live(on)
        chosen = _mode(mode)
        if to is None:
            return execution.run(live, lf, chosen, None)
        start = execution.run if wait else execution.submit
        return start(live, lf, chosen, _directory(to))


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
    """Open a cluster for the block and stop it when the block ends, even with a query still
    running. An error inside the block is the one reported (a failure to stop is then only
    logged); after a clean block, a failure to stop fails the task."""
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
    """Lazily scan parquet at ``uris`` (a glob, a directory, or ``execute``'s locations) with
    the storage options of the running task's engine. ``dataset`` names what is read (``ds``:
    its day; ``produced``: another task's output) in failures; the local engine then fails at
    once, without retries (a retry would find the same), when a local path matches no file (an
    object store is listed by the query itself, within its time bound)."""
    import polars as pl

    from polars_cloud_provider import lineage
    from polars_cloud_provider.compute.failures import record_read
    from polars_cloud_provider.engines.backend import current as current_backend

    if dataset is not None and isinstance(uris, str):
        record_read(dataset, uris)  # failures name the datasets a task read
    lineage.read(uris)  # OpenLineage inputs of the running @polars_task
    chosen = current_backend()
    # An engine that only plans queries (a test's query-plan check) stands in for storage.
    planned = getattr(chosen, "plan_scan", None)
    if planned is not None:
        return planned(uris, dataset, produced=produced)
    if dataset is not None and chosen is not None and chosen.name != "cloud":
        for uri in [uris] if isinstance(uris, str) else uris:
            local = "://" not in uri or uri.startswith("file://")
            if local and not glob.glob(uri.removeprefix("file://")):
                from polars_cloud_provider.compute.permanent import PermanentFailure

                kind = "Output" if produced else "Input"
                day = f" for ds={ds}" if ds is not None else ""
                raise PermanentFailure(
                    f"{kind} {dataset!r}{day}: no parquet file at {uri}", what="missing input"
                )
    current = settings.load()
    options = chosen.scan_options(current) if chosen else current.storage_options
    return pl.scan_parquet(uris, storage_options=options)


def _live(on: Cluster | Live) -> Live:
    if isinstance(on, Live):
        return on
    if not isinstance(on, Manifest | Specs):
        raise TypeError(f"on= takes compute.Manifest, compute.Specs or a Live handle, not {on!r}")
    from polars_cloud_provider.engines.backend import active

    backend = active()
    return Live(cluster=on, backend=backend, handle=backend.connect(on, settings.load()))


def _mode(mode: str) -> Mode:
    if mode in MODES:
        return mode
    raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")


def _directory(uri: str) -> str:
    """``uri`` as a directory URI; as in polars-cloud (query/_utils.py ~l.92), only a "." after
    the last "/" makes it a file, which is refused."""
    last = uri.rsplit("/", 1)[-1]
    if "." in last:
        raise ValueError(
            f"Sink to a directory such as '.../{last.split('.')[0]}/', not to the file {uri!r}"
        )
    return uri if uri.endswith("/") else f"{uri}/"
