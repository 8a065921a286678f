"""The seam between the compute helpers and the engine that runs the queries.

A backend is chosen per task by ``@authenticate`` from the Polars Cloud connection's
``backend`` extra: ``cloud`` (default) runs on Polars Cloud, ``local`` runs in this process
with the installed Polars. DAG files never see the difference.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from {{ cookiecutter.package_name }}.compute.clusters import Cluster, Mode
from {{ cookiecutter.package_name }}.compute.errors import NotAuthenticated

if TYPE_CHECKING:
    import polars as pl

    from {{ cookiecutter.package_name }}.settings import Settings

DEFAULT_BACKEND = "cloud"
BACKENDS = {
    "cloud": "{{ cookiecutter.package_name }}.compute.cloud:CloudBackend",
    "local": "{{ cookiecutter.package_name }}.compute.local:LocalBackend",
}


@dataclass(frozen=True)
class Outcome:
    """What a finished, successful query left behind."""

    query_id: str
    locations: list[str]


class Backend(Protocol):
    name: str

    def authenticate(self, conn_id: str, login: str | None, password: str | None) -> None:
        """Make later calls possible, or raise an error that says how to fix the connection."""

    def connect(self, cluster: Cluster, current: Settings) -> Any:
        """Return a handle on the cluster (starting nothing yet)."""

    def start(self, handle: Any, lf: pl.LazyFrame, mode: Mode, sink_uri: str | None) -> Any:
        """Submit ``lf``: written to ``sink_uri``, or to intermediate storage when ``None``."""

    def query_id(self, query: Any) -> str:
        """A stable identifier for logs and XCom."""

    def detach(self, query: Any) -> None:
        """Let a fire-and-forget query go on without waiting for it."""

    def scan_options(self, current: Settings) -> dict[str, str] | None:
        """``storage_options`` for scans built in this process (None: the engine's own)."""

    def wait(self, query: Any, timeout_s: float | None) -> Outcome:
        """Block until the query is done; raise ``QueryFailed``/``QueryTimedOut`` unless SUCCESS."""

    def stop(self, handle: Any) -> bool:
        """Stop the cluster; return False (and succeed) when there is nothing to stop."""


_active: ContextVar[Backend | None] = ContextVar("active_compute_backend", default=None)


def select(name: str | None) -> Backend:
    """Instantiate the backend called ``name`` (``None`` or empty means the default)."""
    key = (name or DEFAULT_BACKEND).strip().lower()
    if key not in BACKENDS:
        raise ValueError(
            f"Unknown compute backend {name!r} in the connection's extra 'backend'; "
            f"use one of: {', '.join(BACKENDS)}"
        )
    module, _, attribute = BACKENDS[key].partition(":")
    return getattr(importlib.import_module(module), attribute)()


@contextmanager
def activated(chosen: Backend) -> Iterator[Backend]:
    token = _active.set(chosen)
    try:
        yield chosen
    finally:
        _active.reset(token)


def current() -> Backend | None:
    """The backend of the running authenticated task, if any."""
    return _active.get()


def active() -> Backend:
    chosen = _active.get()
    if chosen is None:
        raise NotAuthenticated(
            "No compute backend is active: decorate the task with @authenticate "
            "(below @task) before calling the compute helpers."
        )
    return chosen
