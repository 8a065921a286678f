"""Polars Cloud backend: the only module that imports ``polars_cloud``.

Written against polars-cloud 0.12 (see the project README for what changed since the
Polars Cloud Airflow guide): ``execute()``/``sink_parquet()`` results are awaited with
``await_result``, a finished query's status is the ``.status`` attribute, CANCELED does not
raise on its own, and ``stop()`` raises when no cluster is live.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars_cloud as pc
from polars_cloud.polars_cloud import ComputeClusterMisspecified, NotFoundError

from {{ cookiecutter.package_name }}.compute.backend import Outcome
from {{ cookiecutter.package_name }}.compute.clusters import SINGLE_NODE, Cluster, Manifest, Mode
from {{ cookiecutter.package_name }}.compute.errors import (
    ComputeError,
    ManifestDrift,
    ManifestNotRegistered,
    QueryFailed,
    QueryTimedOut,
)

if TYPE_CHECKING:
    import polars as pl

    from {{ cookiecutter.package_name }}.settings import Settings

log = logging.getLogger(__name__)

InProgress = pc.DirectQuery | pc.ProxyQuery


class CloudBackend:
    name = "cloud"

    def authenticate(self, conn_id: str, login: str | None, password: str | None) -> None:
        try:
            # interactive=False: a worker must fail, never wait for a browser login.
            pc.authenticate(client_id=login, client_secret=password, interactive=False)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            if password:
                reason = reason.replace(password, "***")
            raise ComputeError(
                f"Polars Cloud did not accept the service account in connection {conn_id!r} "
                f"({reason}). Check its login (client id) and password (client secret)."
            ) from None

    def connect(self, cluster: Cluster, current: Settings) -> pc.ComputeContext:
        resolved = cluster.resolved(current)
        if isinstance(resolved, Manifest):
            return _named_context(resolved.workspace, resolved.name)
        return pc.ComputeContext(
            workspace=resolved.workspace,
            cpus=resolved.cpus,
            memory=resolved.memory_gb,
            cluster_size=resolved.cluster_size,
            idle_timeout_mins=resolved.idle_timeout_mins,
        )

    def start(
        self, handle: pc.ComputeContext, lf: pl.LazyFrame, mode: Mode, sink_uri: str | None
    ) -> InProgress:
        remote = pc.LazyFrameRemote(lf, context=handle)
        planned = remote.single_node() if mode == SINGLE_NODE else remote.distributed()
        if sink_uri is None:
            return planned.execute(blocking=False)
        return planned.sink_parquet(sink_uri)

    def scan_options(self, current: Settings) -> None:
        # The cluster reads storage with its own credentials: never ship the worker's.
        return None

    def detach(self, query: InProgress) -> None:
        return None

    def query_id(self, query: InProgress) -> str:
        # In-progress queries expose their id only privately in polars-cloud 0.12.
        return str(getattr(query, "_query_id", "<unknown>"))

    def wait(self, query: InProgress, timeout_s: float | None) -> Outcome:
        query_id = self.query_id(query)
        try:
            with _polars_timeout(timeout_s):
                result = query.await_result(raise_on_failure=False)
        except TimeoutError as error:
            _cancel_quietly(query, query_id)
            raise QueryTimedOut(query_id, timeout_s or 0) from error
        except BaseException as interruption:
            # The task is going down while the query runs (Airflow's execution timeout, a
            # SIGTERM, a lost connection): stop the query, or a retry would race it for the
            # same output.
            cancelled = _cancel_quietly(query, query_id)
            interruption.add_note(
                f"Polars query {query_id} was {'cancelled' if cancelled else 'left running'}."
            )
            raise
        if result.status != pc.QueryStatus.SUCCESS:
            _raise_failure(result, query_id)
        log.info("Polars query %s succeeded (%s rows)", query_id, result.n_rows_total)
        return Outcome(query_id=query_id, locations=list(result.location or []))

    def stop(self, handle: pc.ComputeContext) -> bool:
        status = handle.get_status()
        if status.is_uninitialized() or status.is_stopped() or status.is_failed():
            log.info("No live cluster to stop (status %s); nothing to do.", status.name)
            return False
        handle.stop()
        log.info("Stopped the cluster (was %s).", status.name)
        return True


def _named_context(workspace: str, name: str) -> pc.ComputeContext:
    """Look the manifest up; this is where Polars Cloud compares the recorded versions."""
    try:
        return pc.ComputeContext(workspace=workspace, name=name)
    except ComputeClusterMisspecified as error:
        raise ManifestDrift(
            f"Manifest {name!r} in workspace {workspace!r} does not match this worker: {error}. "
            "Re-register the manifests from the worker's environment (make manifests) after "
            "every polars or Python upgrade."
        ) from error
    except NotFoundError as error:
        raise ManifestNotRegistered(
            f"No manifest {name!r} is registered in workspace {workspace!r} ({error})"
        ) from error


def _raise_failure(result: pc.QueryResult, query_id: str) -> None:
    status = result.status.name
    if result.status == pc.QueryStatus.FAILED:
        try:
            result.raise_err()
        except Exception as polars_error:
            raise QueryFailed(
                query_id, status, f"{type(polars_error).__name__}: {polars_error}"
            ) from polars_error
    raise QueryFailed(query_id, status)


def _cancel_quietly(query: InProgress, query_id: str) -> bool:
    try:
        query.cancel()
    except Exception:
        log.exception("Could not cancel Polars query %s", query_id)
        return False
    return True


@contextmanager
def _polars_timeout(seconds: float | None) -> Iterator[None]:
    """Bound ``await_result`` through the POLARS_TIMEOUT_MS variable polars-cloud reads."""
    if seconds is None:
        yield
        return
    previous = os.environ.get("POLARS_TIMEOUT_MS")
    os.environ["POLARS_TIMEOUT_MS"] = str(int(seconds * 1000))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("POLARS_TIMEOUT_MS", None)
        else:
            os.environ["POLARS_TIMEOUT_MS"] = previous


class ManifestRegistry:
    """Read, register and unregister named manifests (used by ``python -m ...manifests``)."""

    def authenticate_from_environment(self) -> None:
        """Log in with POLARS_CLOUD_CLIENT_ID/_SECRET or POLARS_CLOUD_ACCESS_TOKEN."""
        pc.authenticate(interactive=False)

    def read(self, workspace: str, name: str) -> dict[str, Any]:
        """What Polars Cloud holds for ``name``, keyed like ``manifests.toml``.

        Raises ``ManifestNotRegistered``, or ``ManifestDrift`` when the recorded polars or
        Python version differs from this environment's. Only the fields polars-cloud 0.12
        reads back are returned: labels and requirements are not.
        """
        context = _named_context(workspace, name)
        registered = {
            "cpus": context.cpus,
            "memory_gb": context.memory,
            "instance_type": context.instance_type,
            "storage_gb": context.storage,
            "cluster_size": context.cluster_size,
            "connection_mode": context.connection_mode,
            "env_vars": dict(context.env_vars or {}),
        }
        # polars-cloud 0.12 reads the idle timeout back but keeps it private.
        if hasattr(context, "_idle_timeout_mins"):
            registered["idle_timeout_mins"] = context._idle_timeout_mins
        return registered

    def register(self, name: str, arguments: Mapping[str, Any]) -> None:
        pc.ComputeContext(**arguments).register(name)

    def unregister(self, workspace: str, name: str) -> None:
        _named_context(workspace, name).unregister()
