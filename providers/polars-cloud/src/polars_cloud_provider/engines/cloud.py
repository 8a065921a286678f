"""Polars Cloud backend: the only module that imports ``polars_cloud`` (0.12). The library's
behaviour it relies on is in docs/design-cloud-engine.md and docs/failure-modes.md."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import polars_cloud as pc
from airflow.sdk.exceptions import AirflowFailException
from polars_cloud.constants import FRONTEND_DOMAIN
from polars_cloud.exceptions import WorkspaceResolveError
from polars_cloud.polars_cloud import ComputeClusterMisspecified, NotFoundError
from polars_cloud.query import ProxyQuery  # the class itself: tests replace pc.ProxyQuery

from polars_cloud_provider import lineage, settings
from polars_cloud_provider.compute import errors
from polars_cloud_provider.compute.clusters import SINGLE_NODE, Cluster, Manifest, Mode
from polars_cloud_provider.compute.errors import ComputeError, ManifestDrift
from polars_cloud_provider.compute.failures import classify, service_code
from polars_cloud_provider.engines import backend
from polars_cloud_provider.manifests.versions import MAINTENANCE_DAG

if TYPE_CHECKING:
    import polars as pl

    from polars_cloud_provider.settings import Settings

log = logging.getLogger(__name__)

RESULT_TIMEOUT_S = 120.0  # bound on fetching a finished query's result

_TIMEOUT_WORDS = ("timeout expired", "timed out", "deadline exceeded", "polars_timeout_ms")
DIRECT, PROXY = "direct", "proxy"  # polars_cloud's ConnectionMode names


class Misconfigured(ComputeError, AirflowFailException):
    """The service account was refused, or the workspace is missing or does not resolve."""


class ClusterNotReady(ComputeError):
    """A cluster did not start, or stayed STARTING or STOPPING, within the bound (retried)."""


class WorkerVersionChanged(ManifestDrift, AirflowFailException):
    """The workers' Python (or polars) is not the one the manifest was registered from."""


class _ClusterGone(Exception):
    """The cluster a direct query ran on is STOPPED or FAILED ("its cluster is STOPPED")."""


@dataclass
class CloudQuery:
    """An in-progress query with what is needed to find it again from another process."""

    found: Any  # pc.DirectQuery | pc.ProxyQuery; None until first used after a reattach
    query_id: str
    workspace_id: str
    compute_id: str | None
    mode: str | None = DIRECT  # None: a reference written before the mode was recorded

    @property
    def query(self) -> Any:
        if self.found is None:
            self.found = _found_again(self)
        return self.found


class CloudBackend:
    name = "cloud"
    # The connection (its id and extras), set by the hook:
    conn_id: str | None = None
    workspace: str | None = None
    local_root: str | None = None  # local engine: overrides the local_root setting

    def authenticate(self, conn_id: str, login: str | None, password: str | None) -> None:
        try:
            # interactive=False: a worker must fail, never wait for a browser login.
            pc.authenticate(client_id=login, client_secret=password, interactive=False)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            if password:
                reason = reason.replace(password, "***")
            if _transient(error):
                raise ComputeError(
                    f"Could not reach Polars Cloud to log in with connection {conn_id!r} "
                    f"({reason}); the task is retried."
                ) from None
            raise Misconfigured(
                f"Polars Cloud did not accept the service account in connection {conn_id!r} "
                f"({reason}). Check its login (client id) and password (client secret); the "
                "task fails without retries."
            ) from None

    def connect(self, cluster: Cluster, current: Settings) -> pc.ComputeContext:
        resolved = cluster.resolved(self.workspace)
        if not resolved.workspace:
            raise Misconfigured(
                "No Polars Cloud workspace: give the connection the extra "
                '{"workspace": "<name>"}, or pass workspace= to the Manifest or Specs; the '
                "task fails without retries."
            )
        if isinstance(resolved, Manifest):
            return _ready(resolved.workspace, resolved.name, current.cluster_start_timeout_s)
        with _workspace_named(resolved.workspace):
            return pc.ComputeContext(
                workspace=resolved.workspace,
                cpus=resolved.cpus,
                memory=resolved.memory_gb,
                cluster_size=resolved.cluster_size,
                idle_timeout_mins=resolved.idle_timeout_mins,
            )

    def start(
        self,
        handle: pc.ComputeContext,
        lf: pl.LazyFrame,
        mode: Mode,
        sink_uri: str | None,
        *,
        detached: bool = False,
        labels: list[str] | None = None,
    ) -> CloudQuery:
        # A query runs on the cluster whatever this process does next: ``detached`` is free.
        if getattr(handle, "_compute_id", None) is None:  # spawn would start it, unbounded
            _start_within(handle, settings.load().cluster_start_timeout_s)
        remote = pc.LazyFrameRemote(lf, context=handle)
        if labels:
            remote.labels(labels)  # sets them on ``remote`` (and returns it)
        remote = lineage.nest(remote)  # OpenLineage: the query's events nest under the task
        planned = remote.single_node() if mode == SINGLE_NODE else remote.distributed()
        query = (
            planned.execute(blocking=False) if sink_uri is None else planned.sink_parquet(sink_uri)
        )
        compute_id = getattr(handle, "_compute_id", None)  # only private in 0.12
        return CloudQuery(
            found=query,
            query_id=str(query._query_id),  # in-progress queries: only private in 0.12
            workspace_id=str(handle.workspace.id),
            compute_id=None if compute_id is None else str(compute_id),
            mode=PROXY if isinstance(query, ProxyQuery) else DIRECT,  # query.py l.580-630
        )

    def scan_options(self, current: Settings) -> None:
        # The cluster reads storage with its own credentials: never ship the worker's.
        return None

    def detach(self, query: CloudQuery) -> None:
        return None

    def query_id(self, query: CloudQuery) -> str:
        return query.query_id

    def wait(self, query: CloudQuery, timeout_s: float | None) -> backend.Outcome:
        return backend.wait_by_polling(self, query, timeout_s)

    def status(self, query: CloudQuery) -> str:
        try:
            return query.query.get_status().name
        except Exception as error:
            if not _gone(error):
                raise  # unreadable is not gone: the caller must not resubmit on it
            log.warning("Query %s is gone: %s", query.query_id, service_code(error) or error)
            return backend.UNKNOWN

    def outcome(self, query: CloudQuery) -> backend.Outcome:
        try:
            with _polars_timeout():
                result = query.query.await_result(raise_on_failure=False)
        except Exception as error:
            if _gone(error):
                gone = isinstance(error, _ClusterGone)
                detail = str(error) if gone else service_code(error) or type(error).__name__
                raise errors.QueryNotFound(query.query_id, query.workspace_id, detail) from error
            # In direct mode the compiled client reports an expired POLARS_TIMEOUT_MS as
            # RuntimeError("... Timeout expired") more often than not.
            expired = isinstance(error, RuntimeError) and any(
                word in str(error).lower() for word in _TIMEOUT_WORDS
            )
            if not (isinstance(error, TimeoutError) or expired):
                raise
            backend.cancel_within(self, query)
            raise errors.QueryTimedOut(query.query_id, RESULT_TIMEOUT_S) from error
        if result.status != pc.QueryStatus.SUCCESS:
            _raise_failure(result, query.query_id)
        log.info("Polars query %s succeeded (%s rows)", query.query_id, result.n_rows_total)
        return backend.Outcome(query_id=query.query_id, locations=list(result.location or []))

    def cancel(self, query: CloudQuery) -> None:
        with suppress(_ClusterGone):  # its cluster is gone, and the query with it
            query.query.cancel()

    def reference(self, query: CloudQuery) -> dict[str, Any]:
        return {"backend": self.name} | {k: v for k, v in vars(query).items() if k != "found"}

    def reattach(self, reference: dict[str, Any]) -> CloudQuery | None:
        try:
            query_id, workspace_id = (str(UUID(reference[k])) for k in ("query_id", "workspace_id"))
        except (KeyError, TypeError, ValueError):
            return None
        if reference.get("mode") not in (DIRECT, PROXY, None):
            return None
        # Nothing is called here (the triggerer's event loop): the query is found on first use.
        return CloudQuery(
            None, query_id, workspace_id, reference.get("compute_id"), reference.get("mode")
        )

    def link(self, reference: dict[str, Any]) -> str | None:
        workspace, compute = reference.get("workspace_id"), reference.get("compute_id")
        if not (workspace and compute):
            return None
        page = f"{workspace}/{compute}/queries/{reference['query_id']}"
        return f"https://{FRONTEND_DOMAIN}/portal/{page}"  # query.py logs it (at DEBUG)

    def stop(self, handle: pc.ComputeContext) -> bool:
        status = handle.get_status()
        if status.is_uninitialized() or status.is_stopped() or status.is_failed():
            log.info("No live cluster to stop (status %s); nothing to do.", status.name)
            return False
        handle.stop()
        log.info("Stopped the cluster (was %s).", status.name)
        return True


_INCORRECT_STATE = re.compile(r"Context is in an incorrect state: (?:\w+\.)?(\w+)")
# context/compute.py l.404-410, the library's own words.
_VERSION_DRIFT = re.compile(
    r"locally installed (polars|python) version \(([^)]*)\) does not match \1 version "
    r"specified in manifest \(([^)]*)\)"
)


def _found_again(query: CloudQuery) -> Any:
    """The library's object for a reattached query, in the mode it was submitted in."""
    query_id, workspace_id = UUID(query.query_id), UUID(query.workspace_id)
    if query.mode == PROXY or query.compute_id is None:
        return pc.ProxyQuery(query_id, workspace_id)
    try:
        context = pc.ComputeContext.connect(query.compute_id, workspace=workspace_id)
    except RuntimeError as error:
        state = _INCORRECT_STATE.match(str(error))
        if state and state.group(1) in ("STOPPED", "FAILED"):
            raise _ClusterGone(f"its cluster is {state.group(1)}") from error
        raise
    client = context._get_direct_client()  # None unless the cluster is in direct mode
    if client is None:  # a reference written before the mode was recorded
        return pc.ProxyQuery(query_id, workspace_id)
    return pc.DirectQuery(query_id, client, context)


def _start_within(handle: pc.ComputeContext, timeout_s: float) -> None:
    """Start the context's cluster; at ``timeout_s``, or on an interruption, stop it."""
    starting = backend.Background(handle.start, name="polars-cloud-cluster-start")
    try:
        started = starting.done.wait(timeout_s)
    except BaseException:
        _stop_within(handle)
        raise
    if starting.error is not None:
        raise starting.error
    if not started:
        stopped = _stop_within(handle)
        raise ClusterNotReady(
            f"The cluster did not start within {timeout_s:g} s "
            f"({settings.env_var('cluster_start_timeout_s')}); "
            f"{'it was stopped' if stopped else 'it could not be stopped (see the log)'} and "
            "the task is retried."
        )


def _stop_within(handle: pc.ComputeContext) -> bool:
    """Ask Polars Cloud to stop the cluster ``handle`` started; wait ``CANCEL_TIMEOUT_S``."""
    if getattr(handle, "_compute_id", None) is None:
        log.warning("The cluster start was not answered: there is no cluster id to stop")
        return False
    stopping = backend.Background(handle.stop, name="polars-cloud-cluster-stop")
    if stopping.done.wait(backend.CANCEL_TIMEOUT_S) and stopping.error is None:
        return True
    log.warning("Stopping cluster %s failed: %s", handle._compute_id, stopping.error or "no answer")
    return False


def _ready(workspace: str, name: str, timeout_s: float) -> pc.ComputeContext:
    """The manifest's context, once its cluster is not STARTING or STOPPING."""
    context = _named_context(workspace, name)
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()  # never set: an interruptible sleep
    transitional = (pc.ComputeContextStatus.STARTING, pc.ComputeContextStatus.STOPPING)
    for delay in backend.poll_delays():
        status = context.get_status()
        if status not in transitional:
            break
        if time.monotonic() >= deadline:
            raise ClusterNotReady(
                f"The cluster of manifest {name!r} in workspace {workspace!r} was still "
                f"{status.name} after {timeout_s:g} s "
                f"({settings.env_var('cluster_start_timeout_s')}); the task is retried."
            )
        log.info("Cluster of manifest %r is %s; waiting for it", name, status.name)
        pause.wait(min(delay, max(0.0, deadline - time.monotonic())))
    if status.is_stopped():  # takes no queries: a fresh lookup lets the first one start it
        context = _named_context(workspace, name)
    return context


def _named_context(workspace: str, name: str) -> pc.ComputeContext:
    """Look the manifest up; this is where Polars Cloud compares the recorded versions."""
    try:
        with _workspace_named(workspace):
            return pc.ComputeContext(workspace=workspace, name=name)
    except ComputeClusterMisspecified as error:
        manifest = f"manifest {name!r} in workspace {workspace!r}"
        if changed := _VERSION_DRIFT.search(str(error)):
            tool, here, recorded = changed.groups()
            tool = "Python" if tool == "python" else tool
            raise WorkerVersionChanged(
                f"This worker runs {tool} {here}, but {manifest} was registered from {tool} "
                f"{recorded}, and Polars Cloud refuses it to any other {tool} version (patch "
                "included): the workers' image changed since the manifests were registered. "
                f"Once every worker runs {here}, trigger the {MAINTENANCE_DAG} DAG (it registers "
                "from a worker), then clear the failed tasks; the task fails without retries "
                "until then."
            ) from error
        raise ManifestDrift(
            f"The {manifest} does not match this worker: {error}. Re-register the manifests "
            f"from the workers' interpreter (trigger the {MAINTENANCE_DAG} DAG) after every "
            "polars or Python upgrade."
        ) from error
    except NotFoundError as error:
        raise errors.ManifestNotRegistered(
            f"No manifest {name!r} is registered in workspace {workspace!r} ({error})"
        ) from error


@contextmanager
def _workspace_named(workspace: str) -> Iterator[None]:
    try:
        yield
    except WorkspaceResolveError as error:
        raise Misconfigured(
            f"Polars Cloud workspace {workspace!r} could not be resolved ({error}). Set the "
            "workspace name in the connection's extra 'workspace' (or the file's workspace "
            "for manifests); the task fails without retries."
        ) from error


def _raise_failure(result: pc.QueryResult, query_id: str) -> None:
    status = result.status.name
    if result.status == pc.QueryStatus.CANCELED:
        if not backend.cancel_requested(query_id):
            raise errors.QueryCancelled(query_id)
        raise errors.QueryFailed(query_id, status, "cancelled by Airflow (this task asked to)")
    if result.status == pc.QueryStatus.FAILED:
        try:
            result.raise_err()
        except Exception as error:
            detail = f"{type(error).__name__}: {error}"
            raise errors.QueryFailed(query_id, status, detail) from error
    raise errors.QueryFailed(query_id, status)


def _transient(error: Exception) -> bool:
    """Whether the failure table retries ``error`` (unreachable, not refused, at login)."""
    rule = classify(error)
    return rule is not None and not rule.permanent


def _gone(error: BaseException) -> bool:
    """The query's cluster stopped, or Polars Cloud does not know it (HTTP 404, gRPC NOT_FOUND)."""
    return (
        isinstance(error, _ClusterGone | NotFoundError) or service_code(error) == "gRPC NOT_FOUND"
    )


POLARS_TIMEOUT = "POLARS_TIMEOUT_MS"
_timeout_lock = threading.Lock()
_fetches: list[str | None] = []  # one per fetch under way: the variable before the first


@contextmanager
def _polars_timeout() -> Iterator[None]:
    """POLARS_TIMEOUT_MS = ``RESULT_TIMEOUT_S`` while results are fetched; the last fetch puts
    back what was there before the first."""
    with _timeout_lock:
        _fetches.append(_fetches[0] if _fetches else os.environ.get(POLARS_TIMEOUT))
        os.environ[POLARS_TIMEOUT] = str(int(RESULT_TIMEOUT_S * 1000))
    try:
        yield
    finally:
        with _timeout_lock:
            before = _fetches.pop()
            if not _fetches and before is not None:
                os.environ[POLARS_TIMEOUT] = before
            elif not _fetches:
                os.environ.pop(POLARS_TIMEOUT, None)


class ManifestRegistry:
    """Read, register and unregister named manifests (used by ``python -m ...manifests``)."""

    def authenticate_from_environment(self) -> None:
        """Log in with POLARS_CLOUD_CLIENT_ID/_SECRET or POLARS_CLOUD_ACCESS_TOKEN."""
        pc.authenticate(interactive=False)

    def read(self, workspace: str, name: str) -> dict[str, Any]:
        """What Polars Cloud holds for ``name``, keyed like ``manifests.toml`` (0.12 reads no
        labels or requirements back); raises ``ManifestNotRegistered`` or ``ManifestDrift``."""
        context = _named_context(workspace, name)
        return {
            "cpus": context.cpus,
            "memory_gb": context.memory,
            "instance_type": context.instance_type,
            "storage_gb": context.storage,
            "cluster_size": context.cluster_size,
            "connection_mode": context.connection_mode,
            "env_vars": dict(context.env_vars or {}),
            "idle_timeout_mins": context._idle_timeout_mins,  # private in polars-cloud 0.12
        }

    def register(self, name: str, arguments: Mapping[str, Any]) -> None:
        with _workspace_named(str(arguments.get("workspace"))):
            pc.ComputeContext(**arguments).register(name)

    def unregister(self, workspace: str, name: str) -> None:
        _named_context(workspace, name).unregister()
