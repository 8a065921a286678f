"""A pytest plugin (``pytest_plugins = ["polars_cloud_provider.testing"]``; fixtures
``fake_cloud``, ``fake_manifests``) standing in for the hosted Polars Cloud API. Every object is
a ``create_autospec`` of the installed polars_cloud class, so a call with a wrong name or
argument raises ``TypeError`` as against the service; tests script only the answers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import create_autospec
from uuid import UUID

import polars_cloud as pc
import pytest
from polars_cloud.polars_cloud import ComputeClusterMisspecified, NotFoundError
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
        self.context.get_status.side_effect = (
            None if len(statuses) == 1 else [*statuses[:-1], *[statuses[-1]] * 100]
        )
        self.context.get_status.return_value = statuses[-1]


@pytest.fixture
def fake_cloud(monkeypatch: pytest.MonkeyPatch) -> FakeCloud:
    from polars_cloud_provider.engines import backend

    # The fake's query ids repeat from test to test: forget which ones an earlier test cancelled.
    monkeypatch.setattr(backend, "_cancel_requested", set())
    return install(monkeypatch.setattr)


def install(replace: Callable[[Any, str, Any], None]) -> FakeCloud:
    """Put a fake in place of polars_cloud's entry points with ``replace(obj, name, value)``
    (``monkeypatch.setattr``, or ``setattr`` in a process of its own)."""
    fake = FakeCloud()
    for name in ENTRY_POINTS:
        replace(pc, name, getattr(fake, name))
    return fake


# Kept before any test replaces pc.ComputeContext with its autospec.
REAL_COMPUTE_CONTEXT = pc.ComputeContext
# What Polars Cloud fills in for a manifest field nobody declared.
MANIFEST_DEFAULTS = {"cluster_size": 1, "connection_mode": "direct", "env_vars": {}}
STORED_SPECS = ("cpus", "memory", "instance_type", "storage", *MANIFEST_DEFAULTS)


@dataclass
class FakeManifests:
    """Named manifests as Polars Cloud holds them: ``ComputeContext(workspace=, name=)`` reads
    one back (``NotFoundError``; ``ComputeClusterMisspecified`` if ``drifted``), and
    ``ComputeContext(<specs>).register(name)`` stores the specs it was built with."""

    ComputeContext: Any
    registered: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    drifted: set[tuple[str, str]] = field(default_factory=set)
    refuse: dict[str, Exception] = field(default_factory=dict)

    def register_calls(self) -> list[dict[str, Any]]:
        """The specs of every ComputeContext built to register something, in order."""
        return [c.kwargs for c in self.ComputeContext.call_args_list if "name" not in c.kwargs]

    def lookups(self) -> list[tuple[str, str]]:
        return [
            (c.kwargs["workspace"], c.kwargs["name"])
            for c in self.ComputeContext.call_args_list
            if "name" in c.kwargs
        ]

    def build(self, **kwargs: Any) -> Any:
        context = create_autospec(REAL_COMPUTE_CONTEXT, instance=True)
        workspace = kwargs["workspace"]
        if "name" in kwargs:
            key = (workspace, kwargs["name"])
            if key in self.drifted:
                raise ComputeClusterMisspecified(
                    "locally installed polars version (2.0.0) does not match polars version "
                    "specified in manifest (1.31.0)"
                )
            if key not in self.registered:
                raise NotFoundError(f"compute cluster manifest {kwargs['name']!r} not found")
            stored = {**MANIFEST_DEFAULTS, **self.registered[key]}
            for spec in STORED_SPECS:
                setattr(context, spec, stored.get(spec))
            context._idle_timeout_mins = stored.get("idle_timeout_mins")
            context.unregister.side_effect = lambda: self.registered.pop(key)
            return context

        def register(name: str) -> None:
            if name in self.refuse:
                raise self.refuse[name]
            self.drifted.discard((workspace, name))
            self.registered[(workspace, name)] = {**MANIFEST_DEFAULTS, **kwargs}

        context.register.side_effect = register
        return context


@pytest.fixture
def fake_manifests(fake_cloud: FakeCloud) -> FakeManifests:
    manifests = FakeManifests(ComputeContext=fake_cloud.ComputeContext)
    fake_cloud.ComputeContext.side_effect = manifests.build
    return manifests
