"""The trigger a deferred ``@polars_task`` waits on: it polls the task's query until it is
done, and fires one event no sooner than ``resume_after`` (Airflow 3.3's resume race). It
imports nothing heavy until it runs: see ``docs/design-polars-task.md``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from polars_cloud_provider.engines.backend import NOT_DONE, Backend, cancel_within, poll_delays

log = logging.getLogger(__name__)

MAX_POLL_ERRORS = 10  # failed polls in a row after which the task is left to ask again


class QueryTrigger(BaseTrigger):
    def __init__(
        self,
        *,
        record: dict[str, Any] | None = None,
        conn_id: str,
        timeout_s: float | None,
        resume_after: float | None = None,
        **released_0_1_0: Any,
    ) -> None:
        super().__init__()
        if record is None:  # deferred by provider 0.1.0: its journal and the step waited for
            record = released_0_1_0["journal"][released_0_1_0["step"]]
        self.record = record  # execution.Record as JSON
        self.reference: dict[str, Any] = record["reference"]
        self.deadline: float | None = record.get("deadline")
        self.conn_id = conn_id
        self.timeout_s = timeout_s
        self.resume_after = resume_after

    def serialize(self) -> tuple[str, dict[str, Any]]:
        classpath = f"{type(self).__module__}.{type(self).__qualname__}"
        names = ("record", "conn_id", "timeout_s", "resume_after")  # __init__'s arguments
        return classpath, {name: getattr(self, name) for name in names}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        chosen = await self._backend()
        query = chosen.reattach(self.reference)
        try:
            state, details = await self._poll(chosen, query)
        except Exception as error:
            # Airflow fails the task without its query: cancel it (the resumed task tries too).
            # Not on CancelledError: the triggerer stopping or handing it on is no failure.
            log.error("Trigger of query %s failed (%s): cancelling it", self.reference, error)
            await asyncio.to_thread(cancel_within, chosen, query)
            raise
        # Held until the scheduler has seen the worker's deferral exit; only a real triggerer
        # sets trigger_id (triggerer_job_runner.py ~l.1379). Usually past already: at once.
        hold = (self.resume_after or 0) - time.time() if self.trigger_id is not None else 0
        if hold > 0:
            await asyncio.sleep(hold)
        # The record rides along: dag.test() resumes with the event alone (dag.py ~l.1536).
        yield TriggerEvent({"state": state, "record": self.record, **details})

    async def _poll(self, chosen: Backend, query: Any | None) -> tuple[str, dict[str, Any]]:
        if query is None:  # not found
            return "done", {"status": "UNKNOWN"}
        errors = 0
        for delay in poll_delays(chosen):
            try:
                # Blocking in both backends (docs/design-polars-task.md): in a thread.
                status = await asyncio.to_thread(chosen.status, query)
            except Exception as error:
                errors += 1
                log.warning("Polling query %s failed (%d): %s", self.reference, errors, error)
                if errors >= MAX_POLL_ERRORS:
                    return "error", {"message": f"{type(error).__name__}: {error}"}
            else:
                errors = 0
                if status not in NOT_DONE:
                    return "done", {"status": status}
            if self.deadline is not None:
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    return "timeout", {"timeout_s": self.timeout_s}
                delay = min(delay, remaining)
            await asyncio.sleep(delay)
        raise AssertionError("poll_delays never ends")

    async def on_kill(self) -> None:
        chosen = await self._backend()
        query = chosen.reattach(self.reference)
        if query is not None:
            await asyncio.to_thread(cancel_within, chosen, query)

    async def _backend(self) -> Backend:
        from polars_cloud_provider.engines.backend import select

        if self.reference.get("backend") == "local":
            return select("local")  # the run folder is all it needs: no connection
        from airflow.sdk import BaseHook

        from polars_cloud_provider.hooks.polars_cloud import connected

        connection = await BaseHook.aget_connection(self.conn_id)
        return await asyncio.to_thread(connected, connection, self.conn_id)
