"""A stand-in for the hosted Polars Cloud API, built from the installed polars_cloud classes.

Every object is a ``create_autospec`` of the real class, so a call our code makes with a
wrong name or argument raises ``TypeError`` here exactly as it would against the service.
Only the answers (statuses, locations) are scripted by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from unittest.mock import create_autospec

import polars_cloud as pc
import pytest


@dataclass
class FakeCloud:
    authenticate: Any
    ComputeContext: Any
    LazyFrameRemote: Any
    context: Any
    plan: Any
    query: Any
    result: Any
    query_id: str = "0197a1b2-query-id-for-tests"

    def finish(
        self,
        status: pc.QueryStatus,
        *,
        locations: list[str] | None = None,
        error: Exception | None = None,
    ) -> None:
        """Script how the next awaited query ends."""
        self.result.status = status
        self.result.location = locations
        self.result.raise_err.side_effect = error

    def cluster(self, status: pc.ComputeContextStatus) -> None:
        """Script the status ``get_status`` reports for the cluster."""
        self.context.get_status.return_value = status


@pytest.fixture
def fake_cloud(monkeypatch: pytest.MonkeyPatch) -> FakeCloud:
    authenticate = create_autospec(pc.authenticate)
    compute_context = create_autospec(pc.ComputeContext)
    context = compute_context.return_value
    context.get_status.return_value = pc.ComputeContextStatus.RUNNING

    lazyframe_remote = create_autospec(pc.LazyFrameRemote)
    plan = create_autospec(pc.ExecuteRemote, instance=True)
    lazyframe_remote.return_value.single_node.return_value = plan
    lazyframe_remote.return_value.distributed.return_value = plan

    query = create_autospec(pc.DirectQuery, instance=True)
    plan.sink_parquet.return_value = query
    plan.execute.return_value = query
    result = create_autospec(pc.QueryResult, instance=True)
    query.await_result.return_value = result

    fake = FakeCloud(
        authenticate=authenticate,
        ComputeContext=compute_context,
        LazyFrameRemote=lazyframe_remote,
        context=context,
        plan=plan,
        query=query,
        result=result,
    )
    query._query_id = fake.query_id
    result.n_rows_total = 3
    fake.finish(pc.QueryStatus.SUCCESS, locations=["s3://results/part-0.parquet"])

    monkeypatch.setattr(pc, "authenticate", authenticate)
    monkeypatch.setattr(pc, "ComputeContext", compute_context)
    monkeypatch.setattr(pc, "LazyFrameRemote", lazyframe_remote)
    return fake
