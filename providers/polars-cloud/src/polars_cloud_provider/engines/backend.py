"""The seam between the compute helpers and the engine that runs the queries: ``@authenticate``
picks a backend per task from the connection's ``backend`` extra (``cloud``, the default, or
``local``). A backend describes a running query as JSON (a *reference*) and finds it again from
one: deferrable waits and reattach-on-retry are built on that."""

from __future__ import annotations

import contextvars
import importlib
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # nothing of ``compute`` at load time: it imports this module
    import polars as pl

    from polars_cloud_provider.compute.clusters import Cluster, Mode
    from polars_cloud_provider.settings import Settings

BACKENDS = {
    "cloud": "polars_cloud_provider.engines.cloud:CloudBackend",
    # The in-process backend of local.py, plus the child-process runner deferred waits use.
    "local": "polars_cloud_provider.engines.local_runner:LocalRunnerBackend",
}

# Status names of ``polars_cloud.QueryStatus``; UNKNOWN: the query is confirmed absent.
NOT_DONE = ("QUEUED", "SCHEDULED", "INPROGRESS")
SUCCESS, CANCELED, UNKNOWN = "SUCCESS", "CANCELED", "UNKNOWN"

# Why these values: docs/design-cloud-engine.md, "Waiting on the engine".
CANCEL_TIMEOUT_S = 3.0
SIGNAL_SLICE_S = 0.2
POLL_FIRST_S, POLL_MAX_S = 0.1, 2.0


@dataclass(frozen=True)
class Outcome:
    """What a finished, successful query left behind."""

    query_id: str
    locations: list[str]


class Backend(Protocol):
    name: str
    conn_id: str | None
    workspace: str | None
    local_root: str | None

    def authenticate(self, conn_id: str, login: str | None, password: str | None) -> None:
        """Make later calls possible, or raise an error that says how to fix the connection."""

    def connect(self, cluster: Cluster, current: Settings) -> Any: ...  # starts nothing yet

    def start(
        self,
        handle: Any,
        lf: pl.LazyFrame,
        mode: Mode,
        sink_uri: str | None,
        *,
        detached: bool = False,
        labels: list[str] | None = None,
    ) -> Any:
        """Submit ``lf`` to ``sink_uri`` (None: intermediate storage); ``detached``: it must
        go on after this process ends (deferrable waits)."""

    def query_id(self, query: Any) -> str: ...  # stable: for logs and XCom

    def detach(self, query: Any) -> None: ...  # a fire-and-forget query goes on alone

    def scan_options(self, current: Settings) -> dict[str, str] | None: ...  # None: engine's

    def wait(self, query: Any, timeout_s: float | None) -> Outcome:
        """Block until the query is done; raise ``QueryFailed``/``QueryTimedOut`` unless SUCCESS."""

    def stop(self, handle: Any) -> bool: ...  # False (no error): nothing to stop

    def reference(self, query: Any) -> dict[str, Any]:
        """The query as JSON (``backend`` and ``query_id`` keys at least) for ``reattach``."""

    def reattach(self, reference: dict[str, Any]) -> Any | None:
        """The query ``reference`` describes, or None when this backend cannot reach it."""

    def status(self, query: Any) -> str:
        """A ``polars_cloud.QueryStatus`` name (QUEUED ... CANCELED), or ``UNKNOWN``."""

    def outcome(self, query: Any) -> Outcome:
        """The outcome of a finished query; raise ``QueryFailed`` unless it succeeded."""

    def cancel(self, query: Any) -> None: ...  # may block: call it through cancel_within

    def link(self, reference: dict[str, Any]) -> str | None: ...  # the query's page in a UI


_active: ContextVar[Backend | None] = ContextVar("active_compute_backend", default=None)


def select(name: str | None) -> Backend:
    """Instantiate the backend called ``name`` (``None`` or empty means the default)."""
    key = (name or "cloud").strip().lower()
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
    from polars_cloud_provider.compute.errors import NotAuthenticated

    chosen = _active.get()
    if chosen is None:
        raise NotAuthenticated(
            "No compute backend is active: decorate the task with @authenticate "
            "(below @task) before calling the compute helpers."
        )
    return chosen


def running_ti() -> Any | None:
    """The running Airflow task instance; None outside a task, or when Airflow is not even
    loaded (it costs seconds to load: the local runner's child and the tools never do)."""
    try:
        return sys.modules["airflow.sdk"].get_current_context()["ti"]
    except Exception:
        return None


def poll_delays(chosen: Backend | None = None) -> Iterator[float]:
    """Pauses between status polls (a backend may set a shorter ``poll_max_s``)."""
    return backoff(POLL_FIRST_S, getattr(chosen, "poll_max_s", POLL_MAX_S), growth=1.5)


def backoff(first: float, longest: float, growth: float) -> Iterator[float]:
    """``first``, then ``growth`` times the previous pause, never more than ``longest``."""
    delay = first
    while True:
        yield min(delay, longest)
        delay = min(longest, delay * growth)


def wait_by_polling(chosen: Backend, query: Any, timeout_s: float | None) -> Outcome:
    """Poll ``chosen.status`` until the query is done, then return its outcome. Past
    ``timeout_s``, or when a signal handler interrupts a pause, the query is cancelled."""
    from polars_cloud_provider.compute.errors import QueryTimedOut

    query_id = chosen.query_id(query)
    deadline = time.monotonic() + (math.inf if timeout_s is None else timeout_s)
    pause = threading.Event()  # never set: its wait() is an interruptible sleep
    try:
        for delay in poll_delays(chosen):
            if interruptible(chosen.status, query) not in NOT_DONE:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                cancel_within(chosen, query)
                raise QueryTimedOut(query_id, timeout_s or 0)
            pause.wait(min(delay, remaining))
    except QueryTimedOut:
        raise
    except BaseException as interruption:
        cancelled = cancel_within(chosen, query)
        interruption.add_note(
            f"Polars query {query_id} was {'cancelled' if cancelled else 'asked to cancel'}."
        )
        raise
    return interruptible(chosen.outcome, query)


T = TypeVar("T")


class Background:
    """``call(*args)`` running in a daemon thread, in a copy of the caller's context."""

    def __init__(self, call: Callable[..., Any], *args: Any, name: str) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        context = contextvars.copy_context()

        def run() -> None:
            try:
                self.value = context.run(call, *args)
            except BaseException as error:  # handed to the waiting thread
                self.error = error
            finally:
                self.done.set()

        threading.Thread(target=run, name=name, daemon=True).start()


def interruptible(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` in a daemon thread, awaited in slices so that signal handlers run."""
    value, error = attempt(call, *args)
    if error is not None:
        raise error
    return value  # type: ignore[return-value]


def attempt(call: Callable[..., T], *args: Any) -> tuple[T | None, Exception | None]:
    """``interruptible``, returning the call's error: only a signal handler's one propagates."""
    running = Background(call, *args, name=f"polars-{getattr(call, '__name__', 'call')}")
    wait_in_slices(running.done)
    if running.error is None:
        return running.value, None
    if not isinstance(running.error, Exception):
        raise running.error
    return None, running.error


def wait_in_slices(done: threading.Event, timeout_s: float | None = None) -> bool:
    """``done.wait(timeout_s)``, woken every ``SIGNAL_SLICE_S`` to run signal handlers."""
    deadline = math.inf if timeout_s is None else time.monotonic() + timeout_s
    while not done.wait(max(0.0, min(deadline - time.monotonic(), SIGNAL_SLICE_S))):
        if time.monotonic() >= deadline:
            return False
    return True


_cancel_requested: set[str] = set()


def cancel_requested(query_id: str) -> bool:
    """Whether this process asked to cancel the query (if not, someone outside Airflow did)."""
    return query_id in _cancel_requested


def cancel_within(chosen: Backend, query: Any) -> bool:
    """Send a cancel request; True when it is answered, without an error, in time."""
    query_id = chosen.query_id(query)
    _cancel_requested.add(query_id)
    sending = Background(chosen.cancel, query, name=f"cancel-{query_id}")
    if not sending.done.wait(CANCEL_TIMEOUT_S):
        log.warning("Cancel of Polars query %s not answered in time; it may still run", query_id)
        return False
    if sending.error is not None:
        log.error("Could not cancel Polars query %s: %s", query_id, sending.error)
        return False
    log.info("Cancelled Polars query %s", query_id)
    return True
