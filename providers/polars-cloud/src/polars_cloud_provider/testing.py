"""A pytest plugin (``pytest_plugins = ["polars_cloud_provider.testing"]``): ``fake_cloud``,
autospecs of the installed polars_cloud classes standing in for the hosted Polars Cloud API, so
a wrong call fails as against the service (docs/design-devtools.md)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any
from unittest.mock import create_autospec
from uuid import UUID

import polars_cloud as pc
import pytest
from polars_cloud.query import DirectQuery, ProxyQuery  # the classes: the fake replaces pc.*

ENTRY_POINTS = ("authenticate", "ComputeContext", "LazyFrameRemote", "ProxyQuery", "DirectQuery")


class FakeCloud:
    """polars_cloud's entry points (``ENTRY_POINTS``), wired to one running cluster (``context``),
    ``plan``, ``query`` and ``result``; the query succeeds unless a test scripts otherwise."""

    query_id = "0197a1b2-0000-7000-8000-00000000beef"
    workspace_id = "0197a1b2-0000-7000-8000-0000000000a1"
    compute_id = "0197a1b2-0000-7000-8000-0000000000c1"

    def __init__(self) -> None:
        self.authenticate = create_autospec(pc.authenticate)
        self.ComputeContext = create_autospec(pc.ComputeContext)
        self.LazyFrameRemote = create_autospec(pc.LazyFrameRemote)
        self.ProxyQuery = create_autospec(ProxyQuery)
        self.DirectQuery = create_autospec(DirectQuery)
        self.by_id: dict[str, Any] = {}  # the queries ProxyQuery and DirectQuery find again
        self.ProxyQuery.side_effect = lambda query_id, workspace_id: self.by_id[str(query_id)]
        self.DirectQuery.side_effect = lambda query_id, client, cluster: self.by_id[str(query_id)]
        self.context = self.ComputeContext.return_value
        self.context.get_status.return_value = pc.ComputeContextStatus.RUNNING
        # The library's default mode (context/compute.py l.429), and the cluster reattach finds.
        self.context.connection_mode = "direct"
        self.ComputeContext.connect.return_value = self.context
        # Set by the library itself (not declared on the classes, so invisible to autospec).
        self.context._compute_id = UUID(self.compute_id)
        self.context.workspace.id = UUID(self.workspace_id)
        self.plan = create_autospec(pc.ExecuteRemote, instance=True)
        self.LazyFrameRemote.return_value.single_node.return_value = self.plan
        self.LazyFrameRemote.return_value.distributed.return_value = self.plan
        self.query = self.another_query(self.query_id)
        self.plan.sink_parquet.return_value = self.query
        self.plan.execute.return_value = self.query
        self.result = create_autospec(pc.QueryResult, instance=True)
        self.result.n_rows_total = 3
        self.query.await_result.return_value = self.result
        self.finish(pc.QueryStatus.SUCCESS, locations=["s3://results/part-0.parquet"])

    def another_query(self, query_id: str) -> Any:
        """A submitted query with its own id, status and result (``query`` is the first)."""
        query = create_autospec(DirectQuery, instance=True)
        query._query_id = UUID(query_id)
        self.by_id[query_id] = query
        return query

    def finish(
        self,
        status: pc.QueryStatus,
        *,
        locations: list[str] | None = None,
        error: Exception | None = None,
    ) -> None:
        """Script how the next query ends: its status once done, and its result."""
        self.query.get_status.side_effect = None
        self.query.get_status.return_value = status
        self.result.status = status
        self.result.location = locations
        self.result.raise_err.side_effect = error

    def running(self, polls: int | None = None) -> None:
        """Keep the query INPROGRESS for ``polls`` status polls (None: for ever), then final."""
        final = self.result.status
        if polls is None:
            self.query.get_status.side_effect = None
            self.query.get_status.return_value = pc.QueryStatus.INPROGRESS
        else:
            self.query.get_status.side_effect = itertools.chain(
                [pc.QueryStatus.INPROGRESS] * polls, itertools.repeat(final)
            )

    def cluster(self, *statuses: pc.ComputeContextStatus) -> None:
        """Script the status(es) ``get_status`` reports for the cluster, the last for ever."""
        *first, last = statuses
        self.context.get_status.side_effect = itertools.chain(first, itertools.repeat(last))


@pytest.fixture
def fake_cloud(monkeypatch: pytest.MonkeyPatch) -> FakeCloud:
    from polars_cloud_provider.engines import backend

    # The fake's query ids repeat from test to test: forget which ones an earlier test cancelled.
    monkeypatch.setattr(backend, "_cancel_requested", set())
    return install(monkeypatch.setattr)


def install(replace: Callable[[Any, str, Any], None]) -> FakeCloud:
    """A fake in place of polars_cloud's entry points, put there by ``replace`` (``setattr``)."""
    fake = FakeCloud()
    for name in ENTRY_POINTS:
        replace(pc, name, getattr(fake, name))
    return fake
