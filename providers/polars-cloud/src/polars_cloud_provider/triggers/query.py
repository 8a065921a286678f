"""The trigger a deferred ``@polars_task`` waits on: it polls one query until it is done.

It runs in Airflow's triggerer, a separate process that imports this module by its dotted
path (``QueryTrigger`` in ``polars_cloud_provider.triggers.query``), installed with the
provider; nothing of the project's is imported. Everything it needs
arrives as plain data in its arguments; nothing heavy is imported until it runs.

Polling is a blocking call in both backends (polars-cloud's own async wait polls with a
blocking loop, ``query_in_progress.py`` ~l.159), so each poll runs in a thread and the
triggerer's event loop stays free. It fires one event: the query is done (whatever its
status: the resumed task decides, exactly as a blocking wait does), or its deadline passed
(the resumed task cancels it and fails with the query timeout). When a user marks the task
failed, clears it or marks it successful while it is deferred, Airflow calls ``on_kill``,
which cancels the query; a triggerer restart does not.

Short queries never get here: a deferrable task waits ``defer_after_s`` (15 s) for its
query on the worker and defers only one still running then (``compute/execution.py``).
What is deferred still resumes no sooner than ``resume_after`` (deferral time plus the
``resume_settle_s`` setting, 10 s) in a real triggerer, and at once on the poll that sees
it done when that is later. The hold is what is still needed of it: Airflow 3.3.2's
scheduler fails a resumed task when it drains the executor's stale "success" of the
worker's exit on deferral only after the trigger fired and the task was queued again
(``jobs/scheduler_job_runner.py`` l.1476-1491 excuse only ``scheduled`` with
``next_method``, and ``queued`` only while the executor still lists it, ``has_task``; a
resumed attempt already ``running`` is read as the task changed externally:
apache/airflow#67287, #72716, open, its fix proposed in #72767). A query ending within
``resume_settle_s`` of its deferral is the one exposed; with the first wait on the worker
that is a query of ``defer_after_s`` to ``defer_after_s + resume_settle_s`` seconds, where
it had been every query shorter than the hold. A scheduler slower to drain its executor's
events than the hold (27 s in #67287's report) still loses the race; a retry, if the task
has one, reuses the query's result (the journal), without running it again.
``dag.test()`` runs the trigger inline, with no such race, and does not wait.

A trigger that fails (raises) cancels its query before Airflow fails the task: nothing
would watch it any more. A trigger cancelled by its triggerer (stopping, or handing it to
another) is no failure and leaves the query running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from polars_cloud_provider.engines.backend import (
    CANCEL_TIMEOUT_S,
    NOT_DONE,
    Backend,
    cancel_within,
    poll_delays,
)

log = logging.getLogger(__name__)

MAX_POLL_ERRORS = 10
"""Consecutive failed polls after which the trigger hands the question back to the task."""


class QueryTrigger(BaseTrigger):
    def __init__(
        self,
        *,
        reference: dict[str, Any],
        conn_id: str,
        step: int,
        deadline: float | None,
        timeout_s: float | None,
        journal: list[dict[str, Any]],
        resume_after: float | None = None,
    ) -> None:
        super().__init__()
        self.reference = reference
        self.conn_id = conn_id
        self.step = step
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.journal = journal
        self.resume_after = resume_after

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "reference": self.reference,
                "conn_id": self.conn_id,
                "step": self.step,
                "deadline": self.deadline,
                "timeout_s": self.timeout_s,
                "journal": self.journal,
                "resume_after": self.resume_after,
            },
        )

    def _event(self, state: str, **details: Any) -> TriggerEvent:
        # The journal rides along: dag.test() resumes with the event alone (dag.py ~l.1536).
        return TriggerEvent({"step": self.step, "state": state, "journal": self.journal, **details})

    async def _settled(self, state: str, **details: Any) -> TriggerEvent:
        """The event, once the scheduler has had time to see the worker's deferral exit."""
        # Only a real triggerer sets trigger_id (triggerer_job_runner.py ~l.1379).
        if self.trigger_id is not None and self.resume_after is not None:
            hold = self.resume_after - time.time()
            if hold > 0:  # past it (the usual case: queries run defer_after_s before): at once
                await asyncio.sleep(hold)
        return self._event(state, **details)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        chosen, query = None, None
        try:
            chosen = await self._backend()
            query = chosen.reattach(self.reference)
            if query is None:
                yield await self._settled("done", status="UNKNOWN")
                return
            async for event in self._poll(chosen, query):
                yield event
                return
        except Exception as error:
            # Airflow fails the task on a trigger's error, without its query: cancel it here
            # (the resumed task tries too). Not on CancelledError (a BaseException): the
            # triggerer stopping or handing the trigger to another one is not a failure.
            if chosen is not None and query is not None:
                log.error("Trigger of query %s failed (%s): cancelling it", self.reference, error)
                await asyncio.to_thread(cancel_within, chosen, query, CANCEL_TIMEOUT_S)
            raise

    async def _poll(self, chosen: Backend, query: Any) -> AsyncIterator[TriggerEvent]:
        errors = 0
        for delay in poll_delays(chosen):
            try:
                status = await asyncio.to_thread(chosen.status, query)
            except Exception as error:
                errors += 1
                log.warning("Polling query %s failed (%d): %s", self.reference, errors, error)
                if errors >= MAX_POLL_ERRORS:
                    yield await self._settled("error", message=f"{type(error).__name__}: {error}")
                    return
            else:
                errors = 0
                if status not in NOT_DONE:
                    yield await self._settled("done", status=status)
                    return
            if self.deadline is not None:
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    yield await self._settled("timeout", timeout_s=self.timeout_s)
                    return
                delay = min(delay, remaining)
            await asyncio.sleep(delay)

    async def on_kill(self) -> None:
        chosen = await self._backend()
        query = chosen.reattach(self.reference)
        if query is not None:
            await asyncio.to_thread(cancel_within, chosen, query, CANCEL_TIMEOUT_S)

    async def _backend(self) -> Backend:
        from polars_cloud_provider.engines.backend import select

        if self.reference.get("backend") == "local":
            return select("local")  # the run folder is all it needs: no connection
        from airflow.sdk import BaseHook

        from polars_cloud_provider.hooks.polars_cloud import connected

        connection = await BaseHook.aget_connection(self.conn_id)
        return await asyncio.to_thread(connected, connection, self.conn_id)
