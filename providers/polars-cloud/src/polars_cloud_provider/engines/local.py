"""Local backend: the same helpers, run in this process by the installed Polars.

Chosen by the connection extra ``{"backend": "local"}``: for laptops, demos and CI, with
no Polars Cloud account. Both modes run on this machine; sinks and intermediate results
go wherever the URI points (a local directory or an object store such as ``s3://``).

A local sink is written to a staging area outside its dataset and swapped into place only
when the query succeeds (``local_staging``); object stores make an upload visible only once
it is complete. Everything a query does, planning included, runs in a thread of its own
while the caller waits on an event, so the query timeout bounds it all and SIGINT/SIGTERM
reach the caller, which cancels the query and removes what it wrote.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from polars_cloud_provider.compute import failures
from polars_cloud_provider.compute.clusters import Cluster, Mode
from polars_cloud_provider.compute.errors import (
    QueryFailed,
    QueryInterrupted,
    QueryTimedOut,
)
from polars_cloud_provider.engines import local_intermediate, local_staging, local_storage
from polars_cloud_provider.engines.backend import Outcome, backoff

if TYPE_CHECKING:
    from polars_cloud_provider.settings import Settings

log = logging.getLogger(__name__)

PART = "part-0.parquet"
_CANCEL_GRACE_S = 30.0
"""How long a cancelled query may take to stop writing before its files are removed."""
_SIGNAL_SLICE_S = 0.5
"""The longest a signal waits for its handler while a query is awaited (see ``wait``)."""
_POLL_FIRST_S, _POLL_MAX_S = 0.0005, 0.005
"""The query's thread asks Polars whether the query is done after 0.5 ms, then 1.2 times
later each time, at most every 5 ms (see ``_run``): the answer comes at most 5 ms late, and
asking (no waiting inside Polars) costs microseconds."""


@dataclass
class LocalCluster:
    cluster: Cluster
    settings: Settings


def _nothing() -> None:
    return None


@dataclass
class LocalQuery:
    query_id: str
    location: str  # where the result is once the query succeeded
    write_path: str  # where polars writes while the query runs
    finalize: Callable[[], None] = _nothing
    abort: Callable[[], None] = _nothing
    plan: pl.LazyFrame | None = None  # run by ``wait``, so only while someone waits for it
    uris: tuple[str, ...] = ()  # what it reads and writes, to name a silent endpoint
    storage_options: dict[str, Any] = field(default_factory=dict)
    timeout_s: float | None = None  # the bound for a fire-and-forget query, too
    probe_timeout_s: float = local_storage.PROBE_TIMEOUT_S
    storage_timeout_s: float | None = None  # no progress from the store for that long fails
    running: Any = None  # polars' in-process query handle, once planned
    executing: threading.Event = field(default_factory=threading.Event)  # past planning
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)


class LocalBackend:
    name = "local"
    # The connection (its id and extras), set by the hook:
    conn_id: str | None = None
    workspace: str | None = None
    local_root: str | None = None  # local engine: overrides the local_root setting

    def authenticate(self, conn_id: str, login: str | None, password: str | None) -> None:
        return None  # queries run in this process: no Polars Cloud login

    def connect(self, cluster: Cluster, current: Settings) -> LocalCluster:
        if self.local_root:
            current = dataclasses.replace(current, local_root=self.local_root)
        return LocalCluster(cluster=cluster.resolved(self.workspace), settings=current)

    def scan_options(self, current: Settings) -> dict[str, Any]:
        return local_storage.options(current)

    def start(
        self, handle: LocalCluster, lf: pl.LazyFrame, mode: Mode, sink_uri: str | None
    ) -> LocalQuery:
        current = handle.settings
        query_id = f"{local_intermediate.QUERY_PREFIX}{uuid.uuid4().hex[:12]}"
        local_intermediate.prune(current.local_root, current.local_retention_hours * 3600)
        if sink_uri is None:
            query = _intermediate_query(query_id, current.local_root)
        else:
            query = _sink_query(query_id, sink_uri)
        query.storage_options = local_storage.options(current)
        query.timeout_s = current.query_timeout_s
        query.probe_timeout_s = min(local_storage.PROBE_TIMEOUT_S, current.storage_timeout_s)
        query.storage_timeout_s = current.storage_timeout_s
        query.uris = (query.location, *(uri for _, uri in failures.reads()))
        query.plan = lf
        log.info("Local %s query %s -> %s", mode, query_id, query.location)
        return query

    def query_id(self, query: LocalQuery) -> str:
        return query.query_id

    def wait(self, query: LocalQuery, timeout_s: float | None) -> Outcome:
        # The query runs in a thread of its own, started here rather than in ``start``: an
        # interruption (an execution timeout, SIGINT, SIGTERM) can then never find it running
        # with nobody left to cancel it. The caller waits on an event, not inside Polars.
        try:
            with _signals_interrupt(query.query_id):
                threading.Thread(
                    target=_run, args=(query,), name=f"polars-{query.query_id}", daemon=True
                ).start()
                finished = _wait_in_slices(query.done, timeout_s)
        except BaseException as interruption:
            _cancel(query)
            interruption.add_note(f"Polars query {query.query_id} was cancelled.")
            raise
        if not finished:
            _cancel(query)
            raise QueryTimedOut(query.query_id, timeout_s or 0, _silent_endpoint(query))
        if query.error is not None:
            query.abort()
            error = query.error
            raise QueryFailed(
                query.query_id, "FAILED", f"{type(error).__name__}: {error}{_stalled(query)}"
            ) from error
        query.finalize()
        return Outcome(query_id=query.query_id, locations=[query.location])

    def detach(self, query: LocalQuery) -> None:
        """Fire-and-forget, locally: this process is the cluster, so finish before returning,
        but report a failure only in the log, as Polars Cloud would only show it there."""
        try:
            self.wait(query, query.timeout_s)
        except QueryFailed as error:
            log.warning("Fire-and-forget query failed (the task still succeeds): %s", error)

    def stop(self, handle: LocalCluster) -> bool:
        log.info("Local backend: no cluster to stop.")
        return False


def _wait_in_slices(done: threading.Event, timeout_s: float | None) -> bool:
    """``done.wait(timeout_s)``, woken every ``_SIGNAL_SLICE_S``: a signal the kernel hands
    to another thread (a Polars worker) does not interrupt the main thread's wait, and Python
    runs the handler (Airflow's execution timeout, SIGTERM) only once that thread wakes."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        left = _SIGNAL_SLICE_S if deadline is None else deadline - time.monotonic()
        if done.wait(max(0.0, min(left, _SIGNAL_SLICE_S))):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


def _sink_query(query_id: str, directory: str) -> LocalQuery:
    location = f"{directory.rstrip('/')}/{PART}"
    if local_storage.is_remote(directory):
        return LocalQuery(query_id=query_id, location=location, write_path=location)
    staged = local_staging.stage(Path(directory.removeprefix("file://")), query_id)
    return LocalQuery(
        query_id=query_id,
        location=str(staged.final / PART),
        write_path=str(staged.directory / PART),
        finalize=functools.partial(local_staging.publish, staged),
        abort=functools.partial(local_staging.discard, staged),
    )


def _intermediate_query(query_id: str, root: str) -> LocalQuery:
    """Results no one reads before the query succeeds, in a directory of their own."""
    directory = local_intermediate.query_directory(root, query_id)
    location = f"{directory}/{PART}"
    if local_storage.is_remote(directory):
        return LocalQuery(query_id=query_id, location=location, write_path=location)
    path = Path(directory.removeprefix("file://"))
    return LocalQuery(
        query_id=query_id,
        location=location,
        write_path=location,
        abort=functools.partial(shutil.rmtree, path, ignore_errors=True),
    )


def _run(query: LocalQuery) -> None:
    """Plan and run the query in this thread, and record how it ended.

    Polars' own ``cancel()`` does not stop a streaming sink that is running (polars 2.0: it
    writes on to the end), so the plan carries a guard that fails it at its next batch once
    the query is cancelled. And this thread polls ``fetch()`` rather than blocking in
    ``fetch_blocking()``: while a thread blocks there, Polars turns a SIGINT into a panic that
    aborts the whole process ("Rayon: detected unexpected panic; aborting"). (Awaiting
    ``collect_async()`` instead, whose callback comes from a Polars thread, once aborted a
    writer at exit: "PyGILState_Release: thread state must be current".)
    """
    try:
        if query.plan is None:  # started by another process: nothing to run here
            raise QueryFailed(query.query_id, "FAILED", "no plan to run in this process")
        plan = _stops_when_cancelled(query.plan, query.cancelled).sink_parquet(
            query.write_path, storage_options=query.storage_options, mkdir=True, lazy=True
        )
        if query.cancelled.is_set():  # while planning (which can read storage)
            return
        query.executing.set()
        query.running = plan.collect(background=True)
        delays = backoff(_POLL_FIRST_S, _POLL_MAX_S, growth=1.2)
        while query.running.fetch() is None:
            time.sleep(next(delays))
    except BaseException as error:
        query.error = error
    finally:
        query.done.set()


class _Cancelled(Exception):
    """Raised inside the plan by ``_stops_when_cancelled``'s guard."""


def _stops_when_cancelled(lf: pl.LazyFrame, cancelled: threading.Event) -> pl.LazyFrame:
    schema = lf.collect_schema()  # resolving it can read storage: still inside the bound
    if not schema:
        return lf
    column, dtype = next(iter(schema.items()))

    def guard(batch: pl.Series) -> pl.Series:
        if cancelled.is_set():
            raise _Cancelled("the query was cancelled")
        return batch

    return lf.with_columns(
        pl.col(column).map_batches(guard, return_dtype=dtype, is_elementwise=True)
    )


def _cancel(query: LocalQuery) -> None:
    query.cancelled.set()
    # A query still planning writes nothing (and may hang on a store that does not answer);
    # a running one stops at its next batch: let it, then remove what it wrote.
    if query.executing.is_set() and not query.done.wait(_CANCEL_GRACE_S):
        log.warning("Cancelled query %s is still running; removing its files", query.query_id)
    query.abort()


@contextlib.contextmanager
def _signals_interrupt(query_id: str) -> Iterator[None]:
    """Make SIGINT and SIGTERM raise in the waiting thread instead of ending the process
    on the spot (their default, and SIGINT's inside an Airflow task): the query is then
    cancelled and its files removed. A handler already installed (Airflow's SIGTERM
    handler runs the operator's ``on_kill``) still runs first; an ignored signal stays so.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {
        number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)
    }

    def interrupt(number: int, frame: Any) -> None:
        handler = previous[number]
        if callable(handler):
            handler(number, frame)  # Python's own SIGINT handler raises KeyboardInterrupt
        raise QueryInterrupted(query_id, signal.Signals(number).name)

    for number, handler in previous.items():
        if handler is not None and handler is not signal.SIG_IGN:  # None: not Python's
            signal.signal(number, interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:
                signal.signal(number, handler)


def _stalled(query: LocalQuery) -> str:
    """Which store a request timed out on (Polars' message may not say: "request or response
    body error ... operation timed out")."""
    error = query.error
    if not isinstance(error, TimeoutError) and "timed out" not in str(error).lower():
        return ""
    url = local_storage.endpoint(query.storage_options, query.uris)
    if url is None:
        return ""
    bound = f" for {query.storage_timeout_s:g} s" if query.storage_timeout_s else ""
    return f" (the object store at {url} sent nothing{bound}: storage timeout)"


def _silent_endpoint(query: LocalQuery) -> str:
    url = local_storage.endpoint(query.storage_options, query.uris)
    if url is None:
        return ""
    reason = local_storage.unanswered(url, query.probe_timeout_s)
    if reason is None:
        return f"the object store at {url} answers, so the query itself is slow"
    return f"the object store at {url} did not answer within {query.probe_timeout_s:g} s ({reason})"
