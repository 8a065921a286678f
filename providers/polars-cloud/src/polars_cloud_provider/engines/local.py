"""Local backend: queries run by the installed Polars in a thread the caller waits on, so
timeouts and signals cancel them and remove what they wrote (docs/design-local-engine.md)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from polars_cloud_provider.compute import failures
from polars_cloud_provider.compute.clusters import Cluster, Mode
from polars_cloud_provider.compute.errors import QueryFailed, QueryInterrupted, QueryTimedOut
from polars_cloud_provider.engines import local_staging, local_storage
from polars_cloud_provider.engines.backend import Outcome, backoff, running_ti, wait_in_slices
from polars_cloud_provider.settings import Settings

log = logging.getLogger(__name__)

PART = "part-0.parquet"
QUERY_PREFIX = "local-"  # of every local query id, hence of every query's directory
TASK_FOLDER = "POLARS_CLOUD_PROVIDER_TASK_FOLDER"  # the runner's child: its parent task's folder
_CANCEL_GRACE_S = 30.0  # how long a cancelled query may take to stop writing
_POLL_FIRST_S, _POLL_MAX_S = 0.0005, 0.005  # asking Polars whether the query is done


@dataclass
class LocalQuery:
    query_id: str
    plan: pl.LazyFrame
    settings: Settings
    reads: tuple[str, ...]  # the URIs it reads, to name a silent endpoint
    location: str  # where the result is once the query succeeded
    write_path: str = ""  # where polars writes while the query runs ("": at location)
    finalize: Callable[[], None] = lambda: None  # once it succeeded
    abort: Callable[[], None] = lambda: None  # once it failed or was cancelled
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

    def connect(self, cluster: Cluster, current: Settings) -> Settings:
        """The handle on this process, the local "cluster": the settings its queries use."""
        return replace(current, local_root=self.local_root) if self.local_root else current

    def scan_options(self, current: Settings) -> dict[str, Any]:
        return local_storage.options(current)

    def start(
        self, current: Settings, lf: pl.LazyFrame, mode: Mode, sink_uri: str | None
    ) -> LocalQuery:
        query_id = f"{QUERY_PREFIX}{uuid.uuid4().hex[:12]}"
        _prune(current.local_root, current.local_retention_hours * 3600)
        if sink_uri is None:  # intermediate results
            directory = _query_directory(current.local_root, query_id)
        else:
            directory = sink_uri.rstrip("/")
        reads = tuple(uri for _, uri in failures.reads())
        query = LocalQuery(query_id, lf, current, reads, location=f"{directory}/{PART}")
        path = Path(directory.removeprefix("file://"))
        if local_storage.is_remote(directory):
            pass  # an upload is visible only once complete
        elif sink_uri is None:  # no one reads it before the query succeeds
            query.abort = lambda: shutil.rmtree(path, ignore_errors=True)
        else:
            staged = local_staging.stage(path, query_id)
            query.location = str(staged.final / PART)
            query.write_path = str(staged.directory / PART)
            query.finalize = lambda: local_staging.publish(staged)
            query.abort = lambda: local_staging.discard(staged)
        log.info("Local %s query %s -> %s", mode, query_id, query.location)
        return query

    def query_id(self, query: Any) -> str:
        return str(query.query_id)  # of a LocalQuery, or of local_runner's ChildQuery

    def wait(self, query: LocalQuery, timeout_s: float | None) -> Outcome:
        try:
            with _signals_interrupt(query.query_id):
                threading.Thread(
                    target=_run, args=(query,), name=f"polars-{query.query_id}", daemon=True
                ).start()
                finished = wait_in_slices(query.done, timeout_s)
        except BaseException as interruption:
            _cancel(query)
            interruption.add_note(f"Polars query {query.query_id} was cancelled.")
            raise
        if not finished:
            _cancel(query)
            raise QueryTimedOut(query.query_id, timeout_s or 0, _store_note(query, True))
        if (error := query.error) is not None:
            query.abort()
            stalled = isinstance(error, TimeoutError) or "timed out" in str(error).lower()
            note = _store_note(query, False) if stalled else ""
            detail = f"{type(error).__name__}: {error}{note}"
            raise QueryFailed(query.query_id, "FAILED", detail) from error
        query.finalize()
        return Outcome(query_id=query.query_id, locations=[query.location])

    def detach(self, query: LocalQuery) -> None:
        """Fire-and-forget: this process is the cluster, so finish, but only log a failure."""
        try:
            self.wait(query, query.settings.query_timeout_s)
        except QueryFailed as error:
            log.warning("Fire-and-forget query failed (the task still succeeds): %s", error)

    def stop(self, handle: Settings) -> bool:
        log.info("Local backend: no cluster to stop.")
        return False


def _run(query: LocalQuery) -> None:
    """Plan and run the query, polling ``fetch()`` (not ``fetch_blocking()``: see the docs)."""
    try:
        guarded = _stops_when_cancelled(query.plan, query.cancelled)
        options = local_storage.options(query.settings)
        path = query.write_path or query.location
        plan = guarded.sink_parquet(path, storage_options=options, mkdir=True, lazy=True)
        if query.cancelled.is_set():  # while planning (which can read storage)
            return
        query.executing.set()
        running = plan.collect(background=True)
        delays = backoff(_POLL_FIRST_S, _POLL_MAX_S, growth=1.2)
        while running.fetch() is None:
            time.sleep(next(delays))
    except BaseException as error:
        query.error = error
    finally:
        query.done.set()


def _stops_when_cancelled(lf: pl.LazyFrame, cancelled: threading.Event) -> pl.LazyFrame:
    """Fail the plan at its next batch once cancelled (Polars' ``cancel()`` does not)."""
    schema = lf.collect_schema()  # resolving it can read storage: still inside the bound
    if not schema:
        return lf
    column, dtype = next(iter(schema.items()))

    def guard(batch: pl.Series) -> pl.Series:
        if cancelled.is_set():
            raise RuntimeError("the query was cancelled")
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
    """In the main thread, SIGINT and SIGTERM raise ``QueryInterrupted`` (after any handler)."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if in_main_thread else ()
    previous: dict[int, Any] = {number: signal.getsignal(number) for number in signals}

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


def _store_note(query: LocalQuery, timed_out: bool) -> str:
    """Name the object store the query waited on; past the timeout, whether it answers."""
    options = local_storage.options(query.settings)
    url = local_storage.endpoint(options, (query.location, *query.reads))
    if url is None:
        return ""
    if not timed_out:
        bound = query.settings.storage_timeout_s
        return f" (the object store at {url} sent nothing for {bound:g} s: storage timeout)"
    probe_s = min(local_storage.PROBE_TIMEOUT_S, query.settings.storage_timeout_s)
    reason = local_storage.unanswered(url, probe_s)
    if reason is None:
        return f"the object store at {url} answers, so the query itself is slow"
    return f"the object store at {url} did not answer within {probe_s:g} s ({reason})"


def _prune(root: str, retention_s: float) -> None:
    """Remove intermediate results older than the retention, then empty directories as old."""
    if local_storage.is_remote(root):
        return
    base = Path(root.removeprefix("file://"))
    cutoff = time.time() - retention_s
    containers: list[tuple[Path, float]] = []  # with their age before any removal below
    for parent, directories, _ in os.walk(base):
        queries = [name for name in directories if name.startswith(QUERY_PREFIX)]
        # Not into the queries: each is judged by its entries up to the first recent one.
        directories[:] = [name for name in directories if not name.startswith(QUERY_PREFIX)]
        for path in (Path(parent, name) for name in directories):
            containers.append((path, _last_change(path)))
        for path in (Path(parent, name) for name in queries):
            if all(_last_change(p) < cutoff for p in itertools.chain([path], path.rglob("*"))):
                log.info("Removing intermediate results older than the retention: %s", path)
                shutil.rmtree(path, ignore_errors=True)
    for path, changed in reversed(containers):  # a task's directory before its run's
        if changed < cutoff:
            with contextlib.suppress(OSError):  # only an empty one goes
                path.rmdir()


def _last_change(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed meanwhile, by another task's pruning
        return float("inf")


def _query_directory(root: str, query_id: str) -> str:
    """A directory unique to this run, task and query under ``root``."""
    return "/".join([root.rstrip("/"), task_folder(), query_id])


def task_folder() -> str:
    """``dag/run/task[/map index]`` of the running task, as path parts; the runner's child,
    which has no task context, is told its parent's (``TASK_FOLDER``)."""
    ti = running_ti()
    if ti is None:  # outside a running task (a test calling the helper directly)
        return os.environ.get(TASK_FOLDER, "outside-airflow")
    parts = [ti.dag_id, ti.run_id, ti.task_id]
    if ti.map_index is not None and ti.map_index >= 0:
        parts.append(str(ti.map_index))
    return "/".join(re.sub(r"[^A-Za-z0-9._=-]", "_", part) for part in parts)
