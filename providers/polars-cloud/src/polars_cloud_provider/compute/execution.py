"""How a ``@polars_task`` body drives its queries: record, reattach, defer, cancel.

A task body may call several compute helpers in a row (execute, then sink). While it runs
inside ``@polars_task``, each helper call is one numbered *step* of a journal: the query's
reference (its id and where it runs), its deadline and, once it succeeded, its result. The
journal is kept where a later run of the same body can read it:

- **Deferral.** A waiting helper submits its query and waits for it on the worker for
  ``defer_after_s``; only a query still running then is handed to a trigger, with the
  worker slot back to Airflow (short queries never defer, nor meet Airflow's resume race:
  ``triggers/query.py``). If the trigger fails, its query is cancelled and the later tries
  of the series wait on the worker. When the query ends, Airflow runs the body again with the
  journal: finished steps return their recorded results without touching the engine, the
  step the trigger waited for finishes exactly as a blocking wait would, and the next one
  submits (and defers) in turn. Queries inside ``compute.immediate_shutdown`` never defer:
  leaving that block, which a deferral does, stops their cluster.
- **Retries.** The journal is also written to the task's ``task_state_store`` (kept by
  Airflow across the tries of one task instance). A retry asks each recorded query how it
  is: still running, it waits for it again instead of submitting a duplicate; succeeded, it
  reuses the result; failed, cancelled or confirmed absent (the service answered "not
  found"), it submits again. A status that cannot be read is none of these: the query may
  still run, so it is cancelled (bounded) and asked again, and unless it is then known
  finished the try fails naming it (retried) rather than submit a second copy. A journal
  written before
  a user cleared the task (another *series* of tries) is not reused: its running queries are
  cancelled and everything is submitted afresh.
- **Being stopped.** When Airflow stops the task (marked failed, cleared, lost heartbeat),
  its task runner answers SIGTERM with ``on_kill``, in the main thread. At any moment from
  the submission's return to the end of the wait (or the deferral) the query is cancelled
  (bounded: see ``backend.CANCEL_TIMEOUT_S``); calls into the engine that the main thread
  waits on run in a thread (``backend.interruptible``), so the handler never waits for one.

Outside ``@polars_task`` (a plain ``@task`` with ``@authenticate``, or a test calling a
helper) queries are submitted and awaited in place, with none of the above.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from polars_cloud_provider import settings
from polars_cloud_provider.compute.errors import (
    ComputeError,
    QueryStatusUnreadable,
    QueryTimedOut,
)
from polars_cloud_provider.engines.backend import (
    CANCELED,
    NOT_DONE,
    SUCCESS,
    UNKNOWN,
    Backend,
    Outcome,
    attempt,
    cancel_requested,
    cancel_within,
    interruptible,
    poll_delays,
)
from polars_cloud_provider.engines.backend import current as active_backend

if TYPE_CHECKING:
    import polars as pl

    from polars_cloud_provider.compute import Live
    from polars_cloud_provider.compute.clusters import Mode

log = logging.getLogger(__name__)

LINK_XCOM_KEY = "_link_PolarsQueryLink"
"""Where Airflow keeps the link of ``links.query.PolarsQueryLink`` (``_link_<class name>``).
Defined here, not there: this module is imported by processes that never load Airflow."""

JOURNAL_KEY = "polars_queries"
"""The task_state_store key holding the journal, and the XCom key listing the queries."""
"""Where the extra link reads the query page (Airflow's default key for that link class)."""
MAX_LABELS = 64
MAX_LABEL_BYTES = 32
"""polars-cloud refuses more labels, or longer ones (query/query.py, _validate_labels)."""


class TaskStopped(ComputeError):
    """Airflow stopped the task (SIGTERM) while it waited for a query; the query is cancelled."""


@dataclass
class Step:
    """One helper call of a task body, as recorded in the journal (all JSON)."""

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
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


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
    journal: list[Step] = field(default_factory=list)
    event: dict[str, Any] | None = None  # what the trigger reported, for step event["step"]
    store: Any = None  # context["task_state_store"]
    ti: Any = None  # the running task instance, for XCom
    position: int = 0
    waiting: bool = False
    in_flight: list[tuple[Backend, Any]] = field(default_factory=list)
    no_deferral: int = 0
    link: str | None = None
    published: bool = False  # this run listed the journal in XCom: it changes at submissions
    loaded: bool = False  # the journal of earlier tries is read at the first helper call
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
        retries = getattr(ti.task, "retries", 0) or 0
        max_tries = getattr(ti, "max_tries", None) or retries
        run = cls(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            try_number=ti.try_number,
            # Airflow's own way to find the first try of the current series (task_runner.py,
            # get_first_reschedule_date): a clear raises max_tries to try_number + retries.
            series=max_tries - retries + 1,
            map_index=ti.map_index if ti.map_index is not None else -1,
            deferrable=deferrable,
            conn_id=conn_id,
            store=context.get("task_state_store"),
            ti=ti,
            event=event,
        )
        if event is not None:
            run.journal = [Step.from_json(step) for step in event.get("journal", [])]
            run.loaded = True
        return run

    # -- the journal ---------------------------------------------------------------------

    def _journal_of_earlier_tries(self) -> list[Step]:
        if self.store is None:
            return []
        try:
            saved = self.store.get(JOURNAL_KEY)
        except Exception:
            log.warning("task_state_store unreadable: earlier queries cannot be reused")
            return []
        if not isinstance(saved, dict) or not saved.get("steps"):
            if isinstance(saved, dict) and saved.get("series") == self.series:
                self.trigger_failed = bool(saved.get("trigger_failed"))
            return []
        steps = [Step.from_json(step) for step in saved["steps"]]
        if saved.get("series") == self.series:
            self.trigger_failed = bool(saved.get("trigger_failed"))
            log.info(
                "Try %s: %d query(ies) recorded by an earlier try", self.try_number, len(steps)
            )
            return steps
        log.info("The task was cleared since its queries were recorded: none is reused")
        for step in steps:
            self._cancel_if_running(step, "it belongs to an earlier series of tries")
        return []

    def _cancel_if_running(self, step: Step, why: str) -> None:
        chosen = active_backend()
        if step.done or chosen is None or chosen.name != step.reference.get("backend"):
            return
        query = chosen.reattach(step.reference)
        if query is not None and _status(chosen, query) in (*NOT_DONE, None):  # None: unread
            log.info("Cancelling query %s: %s", step.query_id, why)
            cancel_within(chosen, query)

    def _save(self, *, publish: bool = True) -> None:
        steps = [asdict(step) for step in self.journal]
        if self.store is not None:
            try:
                self.store.set(
                    JOURNAL_KEY,
                    {"series": self.series, "steps": steps, "trigger_failed": self.trigger_failed},
                )
            except Exception:
                log.warning("task_state_store unwritable: a retry will submit its queries again")
        if publish:
            self._publish()

    def _publish(self) -> None:
        if self.ti is None:
            return
        chosen = active_backend()
        listed = []
        for step in self.journal:
            link = chosen.link(step.reference) if chosen is not None else None
            listed.append(
                {
                    "kind": step.kind,
                    "target": step.target,
                    **step.reference,
                    "link": link,
                    "run_id": self.run_id,
                    "try_number": self.try_number,
                    "map_index": self.map_index,
                }
            )
            self.link = link or self.link
        try:
            self.ti.xcom_push(key=JOURNAL_KEY, value=listed)
            if self.link:
                self.ti.xcom_push(key=LINK_XCOM_KEY, value=self.link)
            self.published = True
        except Exception:
            log.warning("Could not publish the query ids to XCom", exc_info=True)

    def finished(self) -> None:
        """The task succeeded: a later clear of it must start afresh."""
        if self.store is not None:
            try:
                self.store.delete(JOURNAL_KEY)
            except Exception:
                log.debug("Could not delete the journal", exc_info=True)

    # -- helper calls --------------------------------------------------------------------

    def labels(self) -> list[str]:
        """The query's labels in Polars Cloud: a bounded set, the DAG and the task.

        The service creates every label it does not know in the workspace, so a label per
        run, try or map index would add labels for ever. polars-cloud 0.12 gives a query
        nothing else to carry free text (``query/query.py``: ``labels``, and ``lineage``, an
        unstable OpenLineage context for the compute plane's emitter): the run, try and map
        index are logged with the query id and listed in the task's XCom (``_submitted``).
        """
        parts = ["airflow", f"dag:{self.dag_id}", f"task:{self.task_id}"]
        return [fit_label(part) for part in parts][:MAX_LABELS]

    def _submitted(self, step: Step) -> None:
        log.info(
            "Polars query %s is %s of DAG %s task %s, run %s, try %s%s",
            step.query_id,
            step.kind,
            self.dag_id,
            self.task_id,
            self.run_id,
            self.try_number,
            "" if self.map_index < 0 else f", map index {self.map_index}",
        )

    def replayed(self, kind: str, target: str | None) -> tuple[int, Step | None]:
        if not self.loaded:  # now the backend is active: it can look at earlier queries
            self.journal, self.loaded = self._journal_of_earlier_tries(), True
        index, self.position = self.position, self.position + 1
        if index >= len(self.journal):
            return index, None
        step = self.journal[index]
        if (step.kind, step.target) != (kind, target):
            log.warning(
                "Step %d of this task was %s %s and is now %s %s: the task body does not call "
                "the helpers in the same order every time, so recorded queries from here on "
                "are not reused",
                index,
                step.kind,
                step.target,
                kind,
                target,
            )
            del self.journal[index:]
            return index, None
        return index, step

    def query(
        self, live: Live, lf: pl.LazyFrame, mode: Mode, target: str | None, kind: str
    ) -> Outcome:
        chosen = live.backend
        timeout_s = settings.load().query_timeout_s
        index, step = self.replayed(kind, target)
        if step is not None:
            if step.done:
                log.info("Query %s finished in an earlier run of this task: reused", step.query_id)
                return step.outcome()
            found = (
                chosen.reattach(step.reference)
                if chosen.name == step.reference.get("backend")
                else None
            )
            if found is not None:
                outcome = self._rejoin(chosen, found, step, index)
                if outcome is not None:
                    return outcome
            del self.journal[index:]
        defer = self._may_defer()
        query = self._start(chosen, live, lf, mode, target, detached=defer)
        with self._in_flight(chosen, query):
            deadline = None if timeout_s is None else time.time() + timeout_s
            step = Step(kind, target, chosen.reference(query), deadline)
            self.journal.append(step)
            self._save()
            self._submitted(step)
            return self._see_through(chosen, query, step, index, defer)

    def submitted(self, live: Live, lf: pl.LazyFrame, mode: Mode, target: str) -> str:
        chosen = live.backend
        _, step = self.replayed("submit", target)
        if step is not None:
            log.info("Query %s was submitted by an earlier run of this task", step.query_id)
            return step.query_id
        query = self._start(chosen, live, lf, mode, target, detached=False)
        step = Step("submit", target, chosen.reference(query), done=True)
        self.journal.append(step)
        self._save()
        self._submitted(step)
        chosen.detach(query)
        return step.query_id

    def _may_defer(self) -> bool:
        return self.deferrable and not self.no_deferral and not self.trigger_failed

    def _start(
        self,
        chosen: Backend,
        live: Live,
        lf: pl.LazyFrame,
        mode: Mode,
        target: str | None,
        *,
        detached: bool,
    ) -> Any:
        """Submit; a stop arriving meanwhile is acted on once the query exists (_in_flight)."""
        self._raise_if_stopped()
        return chosen.start(live.handle, lf, mode, target, detached=detached, labels=self.labels())

    @contextmanager
    def _in_flight(self, chosen: Backend, query: Any) -> Iterator[None]:
        """From submission to the end of the wait (or the deferral), a stop cancels ``query``,
        and so does anything else that ends the task meanwhile (an execution timeout)."""
        entry = (chosen, query)
        self.in_flight.append(entry)
        self.deferring = False
        try:
            self._raise_if_stopped()  # stopped while it was being submitted
            yield
        except BaseException as error:
            # Not a deferral (the trigger watches it), nor an end the query's own outcome
            # decided (QueryFailed, QueryTimedOut...: finished or already cancelled).
            ended = isinstance(error, ComputeError) and not isinstance(error, TaskStopped)
            if not (self.deferring or ended or cancel_requested(chosen.query_id(query))):
                cancel_within(chosen, query)
            raise
        finally:
            self.in_flight.remove(entry)

    def _raise_if_stopped(self) -> None:
        if self.stop_reason is not None:
            raise TaskStopped(self.stop_reason)

    def _rejoin(self, chosen: Backend, query: Any, step: Step, index: int) -> Outcome | None:
        """Finish a recorded query; None when it must be submitted again."""
        event, self.event = self.event, None
        if event is not None and event.get("step") == index and event.get("state") == "timeout":
            cancel_within(chosen, query)
            raise QueryTimedOut(step.query_id, float(event.get("timeout_s") or 0))
        errors: list[Exception] = []
        status = _status(chosen, query, errors)
        if status is None:  # unreadable is not gone: it may run on beside a second copy
            status = _status_after_cancel(chosen, query, step, errors)
            if status in (CANCELED, UNKNOWN):
                log.info("Query %s is %s now: submitting it again", step.query_id, status)
                return None
            event = {"step": index}  # finished on its own: its outcome decides
        if status in NOT_DONE:
            remaining = step.remaining_s()
            if remaining is not None and remaining <= 0:
                cancel_within(chosen, query)
                raise QueryTimedOut(step.query_id, settings.load().query_timeout_s or 0)
            log.info(
                "Query %s of an earlier run is still %s: waiting for it", step.query_id, status
            )
            self._publish()
            with self._in_flight(chosen, query):
                return self._see_through(chosen, query, step, index, self._may_defer(), remaining)
        if status == SUCCESS or (event is not None and event.get("step") == index):
            # Finished: the same checks and errors as a blocking wait (FAILED, CANCELED...).
            outcome = interruptible(chosen.outcome, query)
            self._finish(step, outcome)
            return outcome
        log.info("Query %s of an earlier try ended %s: submitting it again", step.query_id, status)
        return None

    def _see_through(
        self,
        chosen: Backend,
        query: Any,
        step: Step,
        index: int,
        defer: bool,
        timeout_s: float | None = None,
    ) -> Outcome:
        """Wait for the query here; or, when the task may defer, wait ``defer_after_s`` here
        and defer only if it still runs then (short queries never pay a deferral)."""
        if defer and self._ends_within_first_wait(chosen, query, step):
            outcome = interruptible(chosen.outcome, query)
            self._finish(step, outcome)
            return outcome
        if defer:
            self._defer(index, step)
        return self._wait(chosen, query, step, timeout_s)

    def _ends_within_first_wait(self, chosen: Backend, query: Any, step: Step) -> bool:
        """Whether the query is done within ``defer_after_s`` (asked at least once)."""
        first_wait_s = settings.load().defer_after_s
        remaining = step.remaining_s()
        if remaining is not None:
            first_wait_s = min(first_wait_s, max(0.0, remaining))
        end = time.monotonic() + first_wait_s
        pause = threading.Event()  # never set: its wait() is an interruptible sleep
        self.waiting = True
        try:
            for delay in poll_delays(chosen):
                self._raise_if_stopped()
                status = _status(chosen, query)  # unreadable: the trigger asks again
                if status is not None and status not in NOT_DONE:
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    return False
                pause.wait(min(delay, left))
        except TaskStopped:
            raise  # _in_flight cancels
        except BaseException as interruption:  # an execution timeout, SIGINT
            cancelled = cancel_within(chosen, query)
            interruption.add_note(
                f"Polars query {step.query_id} was "
                f"{'cancelled' if cancelled else 'asked to cancel'}."
            )
            raise
        finally:
            self.waiting = False
        return False  # poll_delays never ends

    def _wait(
        self, chosen: Backend, query: Any, step: Step, timeout_s: float | None = None
    ) -> Outcome:
        if timeout_s is None:
            timeout_s = step.remaining_s()
        self._raise_if_stopped()
        self.waiting = True
        try:
            outcome = chosen.wait(query, timeout_s)
        finally:
            self.waiting = False
        self._finish(step, outcome)
        return outcome

    def _finish(self, step: Step, outcome: Outcome) -> None:
        step.done, step.locations = True, list(outcome.locations)
        self._save(publish=not self.published)  # the XCom list does not show completion

    def _defer(self, index: int, step: Step) -> None:
        from airflow.sdk.exceptions import TaskDeferred

        from polars_cloud_provider.triggers.query import QueryTrigger

        self._raise_if_stopped()
        log.info("Query %s is still running; the task defers while it runs", step.query_id)
        current = settings.load()
        trigger = QueryTrigger(
            reference=step.reference,
            conn_id=self.conn_id,
            step=index,
            deadline=step.deadline,
            timeout_s=current.query_timeout_s,
            journal=[asdict(s) for s in self.journal],
            resume_after=time.time() + current.resume_settle_s,
        )
        self.deferring = True
        raise TaskDeferred(trigger=trigger, method_name="resume_from_trigger")

    def stop(self, reason: str) -> None:
        """Airflow is stopping the task (``on_kill``, from its SIGTERM handler, in the main
        thread). Whenever it comes after the submission, the query is cancelled (bounded)."""
        self.stop_reason = reason
        if self.waiting:
            # Raised in the main thread, inside the wait: its handler cancels the query.
            raise TaskStopped(reason)
        # Between submission and the wait (the journal, XCom): cancel here, not by raising,
        # which could cut a request to Airflow's supervisor in half; the main thread raises
        # TaskStopped at its next step. Still submitting: cancelled once start() returns.
        for chosen, query in list(self.in_flight):
            cancel_within(chosen, query)

    def abandon_after_trigger_failure(self) -> None:
        """The trigger a deferred step waited on failed: Airflow resumes the task only to
        fail it (``__fail__``). Nobody watches that step's query any more: cancel it
        (bounded), and let the later tries of this series wait on the worker instead of
        deferring to a trigger that failed."""
        self.journal, self.loaded = self._journal_of_earlier_tries(), True
        for step in self.journal:
            self._cancel_if_running(step, "its trigger failed")
        self.trigger_failed = True
        self._save()


_current: ContextVar[TaskRun | None] = ContextVar("polars_task_run", default=None)


@contextmanager
def running(task_run: TaskRun) -> Iterator[TaskRun]:
    token = _current.set(task_run)
    try:
        yield task_run
    finally:
        _current.reset(token)


@contextmanager
def without_deferral() -> Iterator[None]:
    """Queries inside this block are awaited in place (``immediate_shutdown`` uses it)."""
    task_run = _current.get()
    if task_run is None:
        yield
        return
    task_run.no_deferral += 1
    try:
        yield
    finally:
        task_run.no_deferral -= 1


def run(live: Live, lf: pl.LazyFrame, mode: Mode, target: str | None) -> Outcome:
    """Submit ``lf`` (a sink to ``target``, or an execute when None) and see it finish."""
    task_run = _current.get()
    if task_run is not None:
        return task_run.query(live, lf, mode, target, "execute" if target is None else "sink")
    query = live.backend.start(live.handle, lf, mode, target)
    return live.backend.wait(query, settings.load().query_timeout_s)


def submit(live: Live, lf: pl.LazyFrame, mode: Mode, target: str) -> str:
    """Submit ``lf`` to write ``target`` and return its id without waiting."""
    task_run = _current.get()
    if task_run is not None:
        return task_run.submitted(live, lf, mode, target)
    query = live.backend.start(live.handle, lf, mode, target)
    query_id = live.backend.query_id(query)
    live.backend.detach(query)
    return query_id


def fit_label(text: str) -> str:
    """``text`` as a valid label: no control characters, at most 32 bytes.

    Too long, it keeps a prefix and ends in ``~`` plus 8 hex digits of its hash, so two
    long ids that share a prefix still get different labels, and the same id always the
    same label.
    """
    clean = "".join("_" if unicodedata.category(c) == "Cc" else c for c in text).strip() or "_"
    if len(clean.encode()) <= MAX_LABEL_BYTES:
        return clean
    suffix = "~" + hashlib.sha256(clean.encode()).hexdigest()[:8]
    prefix = clean.encode()[: MAX_LABEL_BYTES - len(suffix)].decode(errors="ignore").rstrip()
    return prefix + suffix


def _status(chosen: Backend, query: Any, errors: list[Exception] | None = None) -> str | None:
    """The query's status; None when it could not be read (UNKNOWN is "confirmed absent")."""
    status, error = attempt(chosen.status, query)  # a stop's TaskStopped propagates
    if error is None:
        return status
    log.warning("Could not ask query %s for its status: %s", chosen.query_id(query), error)
    if errors is not None:
        errors.append(error)
    return None


def _status_after_cancel(chosen: Backend, query: Any, step: Step, errors: list[Exception]) -> str:
    """Cancel a query whose status could not be read (bounded), then ask again: a finished
    one (SUCCESS, FAILED, CANCELED, or absent) is returned; otherwise the try fails naming it,
    without submitting a second copy (retried: a later try asks again)."""
    cancelled = cancel_within(chosen, query)
    status = _status(chosen, query, errors)
    if status is not None and status not in NOT_DONE:
        return status
    last = f"{type(errors[-1]).__name__}: {errors[-1]}".splitlines()[0] if errors else ""
    raise QueryStatusUnreadable(
        step.query_id,
        f"{last}; a cancel was {'sent and answered' if cancelled else 'sent, not answered'}"
        + (f", and it is still {status}" if status is not None else ""),
    )
