"""Local backend: the same helpers, run in this process by the installed Polars.

Chosen by the connection extra ``{"backend": "local"}``: for laptops, demos and CI, with
no Polars Cloud account. Both modes run on this machine; sinks and intermediate results
go wherever the URI points (a local directory or an object store such as ``s3://``).

A local sink is written next to its target and moved into place only when the query
succeeds, so a failed or cancelled query leaves nothing half-written; object stores make
an upload visible only once it is complete.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from {{ cookiecutter.package_name }}.compute.backend import Outcome
from {{ cookiecutter.package_name }}.compute.clusters import Cluster, Mode
from {{ cookiecutter.package_name }}.compute.errors import QueryFailed, QueryTimedOut

if TYPE_CHECKING:
    from collections.abc import Callable

    from {{ cookiecutter.package_name }}.settings import Settings

log = logging.getLogger(__name__)

PART = "part-0.parquet"
_CANCEL_GRACE_S = 30.0
"""How long a cancelled query may take to stop writing before its files are removed."""


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
    running: Any = None  # polars' in-process query handle
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class LocalBackend:
    name = "local"

    def authenticate(self, conn_id: str, login: str | None, password: str | None) -> None:
        return None  # queries run in this process: no Polars Cloud login

    def connect(self, cluster: Cluster, current: Settings) -> LocalCluster:
        return LocalCluster(cluster=cluster.resolved(current), settings=current)

    def scan_options(self, current: Settings) -> dict[str, str] | None:
        return current.storage_options

    def start(
        self, handle: LocalCluster, lf: pl.LazyFrame, mode: Mode, sink_uri: str | None
    ) -> LocalQuery:
        query_id = f"local-{uuid.uuid4().hex[:12]}"
        directory = sink_uri or _intermediate_dir(handle.settings.local_root, query_id)
        query = _new_query(query_id, directory)
        log.info("Local %s query %s -> %s", mode, query_id, query.location)
        try:
            plan = lf.sink_parquet(
                query.write_path,
                storage_options=handle.settings.storage_options,
                mkdir=True,
                lazy=True,
            )
            query.running = plan.collect(background=True)
        except Exception as error:  # a plan that cannot even start fails like a query
            query.error = error
            query.done.set()
        else:
            threading.Thread(
                target=_collect, args=(query,), name=f"polars-{query_id}", daemon=True
            ).start()
        return query

    def query_id(self, query: LocalQuery) -> str:
        return query.query_id

    def wait(self, query: LocalQuery, timeout_s: float | None) -> Outcome:
        # The task waits on an event, not inside Polars: it wakes the moment the query ends,
        # and Airflow's signals (an execution timeout, a SIGTERM) still interrupt it.
        try:
            finished = query.done.wait(timeout_s)
        except BaseException as interruption:
            _cancel(query)
            interruption.add_note(f"Polars query {query.query_id} was cancelled.")
            raise
        if not finished:
            _cancel(query)
            raise QueryTimedOut(query.query_id, timeout_s or 0)
        if query.error is not None:
            query.abort()
            error = query.error
            raise QueryFailed(
                query.query_id, "FAILED", f"{type(error).__name__}: {error}"
            ) from error
        query.finalize()
        return Outcome(query_id=query.query_id, locations=[query.location])

    def detach(self, query: LocalQuery) -> None:
        """Fire-and-forget, locally: this process is the cluster, so finish before returning,
        but report a failure only in the log, as Polars Cloud would only show it there."""
        try:
            self.wait(query, timeout_s=None)
        except QueryFailed as error:
            log.warning("Fire-and-forget query failed (the task still succeeds): %s", error)

    def stop(self, handle: LocalCluster) -> bool:
        log.info("Local backend: no cluster to stop.")
        return False


def _new_query(query_id: str, directory: str) -> LocalQuery:
    location = f"{directory.rstrip('/')}/{PART}"
    if "://" in directory and not directory.startswith("file://"):
        return LocalQuery(query_id=query_id, location=location, write_path=location)
    final = Path(directory.removeprefix("file://"))
    staging = final.parent / f".{final.name}.{query_id}.staging"
    return LocalQuery(
        query_id=query_id,
        location=str(final / PART),
        write_path=str(staging / PART),
        finalize=functools.partial(_swap_in, staging, final, query_id),
        abort=functools.partial(shutil.rmtree, staging, ignore_errors=True),
    )


def _collect(query: LocalQuery) -> None:
    """Wait for the query in a thread of its own and record how it ended."""
    try:
        query.running.fetch_blocking()
    except BaseException as error:
        query.error = error
    finally:
        query.done.set()


def _cancel(query: LocalQuery) -> None:
    if query.running is not None:
        query.running.cancel()
        if not query.done.wait(_CANCEL_GRACE_S):  # let the writer stop before the cleanup
            log.warning("Cancelled query %s is still writing", query.query_id)
    query.abort()


def _swap_in(staging: Path, final: Path, query_id: str) -> None:
    """Replace ``final`` with ``staging``: a rerun rewrites its partition, never appends.

    Also clears what earlier writes of this partition left behind when their process was
    killed mid-write (out of memory, a lost worker) and could not clean up: Polars' globs
    read dot-folders too, so ``curated/<name>/*/*.parquet`` would see that debris.
    """
    with contextlib.suppress(FileNotFoundError):  # a first write has nothing to retire
        final.rename(final.parent / f".{final.name}.{query_id}.retired")
    staging.rename(final)
    prefix = f".{final.name}."
    with os.scandir(final.parent) as entries:  # this write's retired folder is one of them
        leftovers = [
            entry.path
            for entry in entries
            if entry.name.startswith(prefix) and entry.name.endswith((".retired", ".staging"))
        ]
    for leftover in leftovers:
        shutil.rmtree(leftover, ignore_errors=True)


def _intermediate_dir(root: str, query_id: str) -> str:
    """A directory unique to this run, task and query under the local root."""
    return "/".join([root.rstrip("/"), *_task_path(), query_id])


def _task_path() -> list[str]:
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
        parts = [ti.dag_id, ti.run_id, ti.task_id]
        if ti.map_index is not None and ti.map_index >= 0:
            parts.append(str(ti.map_index))
    except Exception:  # outside a running task (a test calling the helper directly)
        parts = ["outside-airflow"]
    return [re.sub(r"[^A-Za-z0-9._=-]", "_", part) for part in parts]
