"""How a ``@polars_task`` runs its one query: record it, reattach, defer, cancel
(``docs/design-polars-task.md``). Outside ``@polars_task`` queries run in place.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from polars_cloud_provider import settings
from polars_cloud_provider.compute.errors import ComputeError, QueryStatusUnreadable, QueryTimedOut
from polars_cloud_provider.engines import backend
from polars_cloud_provider.engines.backend import Backend, Outcome

if TYPE_CHECKING:
    import polars as pl

    from polars_cloud_provider.compute import Live
    from polars_cloud_provider.compute.clusters import Mode

log = logging.getLogger(__name__)

LINK_XCOM_KEY = "_link_PolarsQueryLink"  # PolarsQueryLink's, Airflow's default (operatorlink.py)
QUERY_KEY = "polars_queries"  # of the record in task_state_store, and of the query in XCom
MAX_LABEL_BYTES = 32  # polars-cloud refuses longer labels (query/query.py, _validate_labels)
ONE_QUERY = (
    "A @polars_task runs one query: split the body into one task per query, passing result "
    "locations through XCom as the multistage example does"
)


class TaskStopped(ComputeError):
    """Airflow stopped the task (SIGTERM) while it waited for a query; the query is cancelled."""


@dataclass
class Record:
    """The task's query, as kept across its runs (all JSON)."""

    kind: str  # "sink" | "execute" | "submit"
    target: str | None  # the sink's directory URI
    reference: dict[str, Any]  # the backend's description of the query
    deadline: float | None = None  # epoch seconds; None: no query timeout
    done: bool = False
    locations: list[str] = field(default_factory=list)

    @property
    def query_id(self) -> str:
        return str(self.reference.get("query_id"))

    def remaining_s(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.time()

    def outcome(self) -> Outcome:
        return Outcome(query_id=self.query_id, locations=list(self.locations))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})

    @classmethod
    def found_in(cls, data: dict[str, Any]) -> Record | None:
        """The record a store's value or a trigger's event holds; also as provider 0.1.0 wrote
        them, a journal of steps (the step its trigger waited for, or the last one)."""
        if "record" in data:
            data = data["record"]
        elif steps := data.get("steps") or data.get("journal"):
            data = steps[data.get("step", -1)]
        return cls.from_json(data) if "reference" in data else None


@dataclass
class TaskRun:
    """One run of a task body: a try, or the resumption of a try after a deferral."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int
    series: int  # the first try since the task was last cleared
    map_index: int = -1
    deferrable: bool = False
    conn_id: str = settings.DEFAULT_CONN_ID
    record: Record | None = None
    event: dict[str, Any] | None = None  # what the trigger reported
    store: Any = None  # context["task_state_store"]
    ti: Any = None  # the running task instance, for XCom
    queried: bool = False  # the body called a query helper in this run
    waiting: bool = False
    in_flight: tuple[Backend, Any] | None = None
    link: str | None = None
    trigger_failed: bool = False  # a trigger of this series failed: its tries do not defer
    deferring: bool = False  # raising TaskDeferred: the query is the trigger's to watch
    stop_reason: str | None = None  # Airflow stopped the task (on_kill)

    @classmethod
    def from_context(
        cls,
        context: Any,
        *,
        deferrable: bool,
        conn_id: str = settings.DEFAULT_CONN_ID,
        event: dict[str, Any] | None = None,
    ) -> TaskRun:
        ti = context["ti"]
        return cls(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            try_number=ti.try_number,
            # Airflow's first try of the series (task_runner.py, get_first_reschedule_date).
            series=ti.max_tries - ti.task.retries + 1,
            map_index=ti.map_index if ti.map_index is not None else -1,
            deferrable=deferrable,
            conn_id=conn_id,
            store=context.get("task_state_store"),
            ti=ti,
            event=event,
            record=Record.found_in(event) if event is not None else None,
        )

    def _stored(self, method: str, *args: Any) -> Any:
        """``task_state_store.<method>(QUERY_KEY, *args)``; None without one, or when it fails."""
        try:
            return None if self.store is None else getattr(self.store, method)(QUERY_KEY, *args)
        except Exception:
            log.warning("task_state_store.%s failed", method, exc_info=True)
            return None

    def _record_of_earlier_tries(self) -> Record | None:
        saved = self._stored("get") or {}
        record = Record.found_in(saved)
        if saved.get("series") == self.series:
            self.trigger_failed = bool(saved.get("trigger_failed"))
            return record
        self._cancel_if_running(record, "the task was cleared since it was submitted")
        return None

    def _cancel_if_running(self, record: Record | None, why: str) -> None:
        chosen = backend.active()
        if record is None or record.done or chosen.name != record.reference.get("backend"):
            return
        query = chosen.reattach(record.reference)
        # Running, or unreadable (None): it may be running.
        if query is not None and _status(chosen, query) in {*backend.NOT_DONE, None}:
            log.info("Cancelling query %s: %s", record.query_id, why)
            backend.cancel_within(chosen, query)

    def _save(self) -> None:
        state = {"series": self.series, "trigger_failed": self.trigger_failed}
        self._stored("set", state | (asdict(self.record) if self.record else {}))

    def _publish(self, record: Record) -> None:
        """List the query, with its link, in this try's XCom."""
        if self.ti is None:
            return
        self.link = backend.active().link(record.reference)
        run = {"run_id": self.run_id, "try_number": self.try_number, "map_index": self.map_index}
        listed = {"kind": record.kind, "target": record.target, **record.reference, **run}
        listed["link"] = self.link
        try:
            self.ti.xcom_push(key=QUERY_KEY, value=[listed])  # a list: readers unpack one
            if self.link:
                self.ti.xcom_push(key=LINK_XCOM_KEY, value=self.link)
        except Exception:
            log.warning("Could not publish the query id to XCom", exc_info=True)

    def finished(self) -> None:
        """The task succeeded: a later clear of it must start afresh."""
        self._stored("delete")

    def labels(self) -> list[str]:
        """The DAG and the task: a bounded set, as the service keeps every new label."""
        parts = ("airflow", f"dag:{self.dag_id}", f"task:{self.task_id}")
        return [fit_label(part) for part in parts]

    def _recorded(self, kind: str, target: str | None) -> Record | None:
        """The record of this query from an earlier run, if any; fails a second query."""
        if self.queried:
            from polars_cloud_provider.compute.permanent import PermanentFailure

            raise PermanentFailure(f"{ONE_QUERY} (a second {kind} was called)", what="two queries")
        self.queried = True
        if self.event is None:  # not resumed: the earlier tries may have left a record
            self.record = self._record_of_earlier_tries()
        if self.record is not None and (self.record.kind, self.record.target) != (kind, target):
            self._cancel_if_running(self.record, f"the task now runs a {kind} of {target}")
            self.record = None
        return self.record

    def query(
        self, live: Live, lf: pl.LazyFrame, mode: Mode, target: str | None, kind: str
    ) -> Outcome:
        """Run the task's query (a sink, an execute or a submit), or find it again."""
        chosen = live.backend
        record = self._recorded(kind, target)
        if record is not None:
            self._publish(record)  # this try lists it too
            if record.done:
                log.info("Query %s ran in an earlier run of this task: reused", record.query_id)
                return record.outcome()
            same_backend = chosen.name == record.reference.get("backend")
            found = chosen.reattach(record.reference) if same_backend else None
            outcome = None if found is None else self._rejoin(chosen, found, record)
            if outcome is not None:
                return outcome
            self.record = None
        defer = kind != "submit" and self._may_defer()
        self._raise_if_stopped()  # a stop during start() is acted on by _in_flight
        query = chosen.start(live.handle, lf, mode, target, detached=defer, labels=self.labels())
        if kind == "submit":
            record = self._record(Record(kind, target, chosen.reference(query), done=True))
            chosen.detach(query)
            return record.outcome()
        with self._in_flight(chosen, query):
            timeout_s = settings.load().query_timeout_s
            deadline = None if timeout_s is None else time.time() + timeout_s
            record = self._record(Record(kind, target, chosen.reference(query), deadline))
            return self._see_through(chosen, query, record, defer)

    def _record(self, record: Record) -> Record:
        self.record = record
        self._save()
        self._publish(record)
        where = f"DAG {self.dag_id} task {self.task_id}, run {self.run_id}, try {self.try_number}"
        mapped = "" if self.map_index < 0 else f", map index {self.map_index}"
        log.info("Polars query %s is %s of %s%s", record.query_id, record.kind, where, mapped)
        return record

    def _may_defer(self) -> bool:
        return self.deferrable and _deferral_allowed.get() and not self.trigger_failed

    @contextmanager
    def _in_flight(self, chosen: Backend, query: Any) -> Iterator[None]:
        """Until the wait (or the deferral) ends, a stop or any other end cancels ``query``."""
        self.in_flight = (chosen, query)
        try:
            self._raise_if_stopped()  # stopped while it was being submitted
            yield
        except BaseException as error:
            # Not a deferral (the trigger watches it), nor an end the query's own outcome
            # decided (QueryFailed, QueryTimedOut...: finished or already cancelled).
            query_id = chosen.query_id(query)
            ended = isinstance(error, ComputeError) and not isinstance(error, TaskStopped)
            if not (self.deferring or ended or backend.cancel_requested(query_id)):
                verb = "cancelled" if backend.cancel_within(chosen, query) else "asked to cancel"
                error.add_note(f"Polars query {query_id} was {verb}.")
            raise
        finally:
            self.in_flight = None

    def _raise_if_stopped(self) -> None:
        if self.stop_reason is not None:
            raise TaskStopped(self.stop_reason)

    def _rejoin(self, chosen: Backend, query: Any, record: Record) -> Outcome | None:
        """Finish a recorded query; None when it must be submitted again."""
        event = self.event
        if event is not None and event.get("state") == "timeout":
            backend.cancel_within(chosen, query)
            raise QueryTimedOut(record.query_id, float(event.get("timeout_s") or 0))
        ended = event is not None  # the trigger saw it finish: its outcome decides
        errors: list[Exception] = []
        status = _status(chosen, query, errors)
        if status is None:  # unreadable is not gone: cancel (bounded), ask again, else fail
            cancelled = backend.cancel_within(chosen, query)
            status = _status(chosen, query, errors)
            if status is None or status in backend.NOT_DONE:
                last = f"{type(errors[-1]).__name__}: {errors[-1]}".splitlines()[0]
                sent = "sent and answered" if cancelled else "sent, not answered"
                still = "" if status is None else f", and it is still {status}"
                raise QueryStatusUnreadable(record.query_id, f"{last}; a cancel was {sent}{still}")
            if status in (backend.CANCELED, backend.UNKNOWN):
                log.info("Query %s is %s now: submitting it again", record.query_id, status)
                return None
            ended = True  # finished on its own
        if status in backend.NOT_DONE:
            remaining = record.remaining_s()
            if remaining is not None and remaining <= 0:
                backend.cancel_within(chosen, query)
                raise QueryTimedOut(record.query_id, settings.load().query_timeout_s or 0)
            log.info("Query %s of an earlier run is still %s: waiting", record.query_id, status)
            with self._in_flight(chosen, query):
                return self._see_through(chosen, query, record, self._may_defer())
        if status == backend.SUCCESS or ended:
            # Finished: the same checks and errors as a blocking wait (FAILED, CANCELED...).
            return self._finish(record, backend.interruptible(chosen.outcome, query))
        log.info("Query %s of an earlier try ended %s: submitting again", record.query_id, status)
        return None

    def _see_through(self, chosen: Backend, query: Any, record: Record, defer: bool) -> Outcome:
        """Wait here; or, deferrable, wait ``defer_after_s`` here and defer if it still runs."""
        self.waiting = True  # a stop raises TaskStopped here, and _in_flight cancels
        try:
            self._raise_if_stopped()
            if defer and not self._ends_within_first_wait(chosen, query, record):
                self._defer(record)
            if defer:  # done within the first wait: the same checks and errors as a blocking wait
                outcome = backend.interruptible(chosen.outcome, query)
            else:
                outcome = chosen.wait(query, record.remaining_s())
        finally:
            self.waiting = False
        return self._finish(record, outcome)

    def _ends_within_first_wait(self, chosen: Backend, query: Any, record: Record) -> bool:
        """Whether the query is done within ``defer_after_s`` (asked at least once)."""
        wait_s, remaining = settings.load().defer_after_s, record.remaining_s()
        end = time.monotonic() + (wait_s if remaining is None else min(wait_s, max(0.0, remaining)))
        pause = threading.Event()  # never set: its wait() is an interruptible sleep
        for delay in backend.poll_delays(chosen):
            status = _status(chosen, query)  # unreadable: the trigger asks again
            if status is not None and status not in backend.NOT_DONE:
                return True
            if time.monotonic() >= end:
                return False
            pause.wait(min(delay, end - time.monotonic()))
        return False  # poll_delays never ends

    def _finish(self, record: Record, outcome: Outcome) -> Outcome:
        record.done, record.locations = True, list(outcome.locations)
        self._save()
        return outcome

    def _defer(self, record: Record) -> NoReturn:
        from airflow.sdk.exceptions import TaskDeferred

        from polars_cloud_provider.triggers.query import QueryTrigger

        self.waiting = False  # a stop now cancels the query itself, or is raised below
        self._raise_if_stopped()
        log.info("Query %s is still running; the task defers while it runs", record.query_id)
        current = settings.load()
        trigger = QueryTrigger(
            record=asdict(record),
            conn_id=self.conn_id,
            timeout_s=current.query_timeout_s,
            resume_after=time.time() + current.resume_settle_s,
        )
        self.deferring = True
        raise TaskDeferred(trigger=trigger, method_name="resume_from_trigger")

    def stop(self, reason: str) -> None:
        """Airflow is stopping the task (``on_kill``, in the main thread): cancel the query."""
        self.stop_reason = reason
        if self.waiting:  # inside the wait: its handler cancels the query
            raise TaskStopped(reason)
        # Raising here could cut a request to Airflow's supervisor in half: cancel, raise later.
        if self.in_flight is not None:
            backend.cancel_within(*self.in_flight)

    def abandon_after_trigger_failure(self) -> None:
        """The trigger failed: cancel its query; later tries of the series wait on the worker."""
        self.record = self._record_of_earlier_tries()
        self._cancel_if_running(self.record, "its trigger failed")
        self.trigger_failed = True
        self._save()


_current: ContextVar[TaskRun | None] = ContextVar("polars_task_run", default=None)
_deferral_allowed: ContextVar[bool] = ContextVar("polars_deferral_allowed", default=True)


@contextmanager
def _setting(variable: ContextVar[Any], value: Any) -> Iterator[None]:
    token = variable.set(value)
    try:
        yield
    finally:
        variable.reset(token)


def running(task_run: TaskRun) -> AbstractContextManager[None]:
    return _setting(_current, task_run)


def without_deferral() -> AbstractContextManager[None]:
    """Queries inside this block are awaited in place (``immediate_shutdown`` uses it)."""
    return _setting(_deferral_allowed, False)


def run(live: Live, lf: pl.LazyFrame, mode: Mode, target: str | None) -> Outcome:
    """Submit ``lf`` (a sink to ``target``, or an execute when None) and see it finish."""
    if (task_run := _current.get()) is not None:
        return task_run.query(live, lf, mode, target, "execute" if target is None else "sink")
    query = live.backend.start(live.handle, lf, mode, target)
    return live.backend.wait(query, settings.load().query_timeout_s)


def submit(live: Live, lf: pl.LazyFrame, mode: Mode, target: str) -> str:
    """Submit ``lf`` to write ``target`` and return its id without waiting."""
    if (task_run := _current.get()) is not None:
        return task_run.query(live, lf, mode, target, "submit").query_id
    query = live.backend.start(live.handle, lf, mode, target)
    live.backend.detach(query)
    return live.backend.query_id(query)


def fit_label(text: str) -> str:
    """``text`` as a label: no control characters; past 32 bytes, a prefix + ``~`` + a hash."""
    clean = "".join("_" if unicodedata.category(c) == "Cc" else c for c in text).strip() or "_"
    if len(clean.encode()) <= MAX_LABEL_BYTES:
        return clean
    suffix = "~" + hashlib.sha256(clean.encode()).hexdigest()[:8]
    prefix = clean.encode()[: MAX_LABEL_BYTES - len(suffix)].decode(errors="ignore").rstrip()
    return prefix + suffix


def _status(chosen: Backend, query: Any, errors: list[Exception] | None = None) -> str | None:
    """The query's status; None when it could not be read (UNKNOWN is "confirmed absent")."""
    status, error = backend.attempt(chosen.status, query)  # a stop's TaskStopped propagates
    if error is not None:
        log.warning("Could not ask query %s for its status: %s", chosen.query_id(query), error)
        if errors is not None:
            errors.append(error)
    return status
