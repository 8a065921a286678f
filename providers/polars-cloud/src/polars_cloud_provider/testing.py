"""For tests of DAGs that use this provider: a stand-in for the hosted Polars Cloud API, built
from the installed polars_cloud classes. A pytest plugin (its fixture: ``fake_cloud``)::

    pytest_plugins = ["polars_cloud_provider.testing"]

Every object is a ``create_autospec`` of the real class, so a call our code makes with a
wrong name or argument raises ``TypeError`` here exactly as it would against the service.
Only the answers (statuses, locations) are scripted by the tests.
"""

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


@dataclass
class FakeCloud:
    authenticate: Any
    ComputeContext: Any
    LazyFrameRemote: Any
    ProxyQuery: Any
    DirectQuery: Any
    context: Any
    plan: Any
    query: Any
    result: Any
    query_id: str = "0197a1b2-0000-7000-8000-00000000beef"
    workspace_id: str = "0197a1b2-0000-7000-8000-0000000000a1"
    compute_id: str = "0197a1b2-0000-7000-8000-0000000000c1"
    by_id: dict[str, Any] = field(default_factory=dict)
    """The queries ``ProxyQuery(query_id, workspace_id)`` and ``DirectQuery(query_id, client,
    context)`` find again (reattach, trigger)."""

    def another_query(self, query_id: str) -> Any:
        """A second submitted query, with its own id, status and result."""
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
        """Keep the query INPROGRESS for ``polls`` status polls (None: for ever), then report
        its final status to every later poll, as the service does."""
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
    """Put the fake in place of polars_cloud's entry points with ``replace(obj, name, value)``
    (``monkeypatch.setattr`` in a test, ``setattr`` in a process of its own)."""
    authenticate = create_autospec(pc.authenticate)
    compute_context = create_autospec(pc.ComputeContext)
    context = compute_context.return_value
    context.get_status.return_value = pc.ComputeContextStatus.RUNNING

    lazyframe_remote = create_autospec(pc.LazyFrameRemote)
    plan = create_autospec(pc.ExecuteRemote, instance=True)
    lazyframe_remote.return_value.single_node.return_value = plan
    lazyframe_remote.return_value.distributed.return_value = plan

    query = create_autospec(DirectQuery, instance=True)
    plan.sink_parquet.return_value = query
    plan.execute.return_value = query
    result = create_autospec(pc.QueryResult, instance=True)
    query.await_result.return_value = result
    proxy_query = create_autospec(ProxyQuery)
    direct_query = create_autospec(DirectQuery)
    # The library's default mode (context/compute.py l.429), and the cluster reattach finds.
    context.connection_mode = "direct"
    compute_context.connect.return_value = context

    fake = FakeCloud(
        authenticate=authenticate,
        ComputeContext=compute_context,
        LazyFrameRemote=lazyframe_remote,
        ProxyQuery=proxy_query,
        DirectQuery=direct_query,
        context=context,
        plan=plan,
        query=query,
        result=result,
    )
    # Set by the library itself (not declared on the classes, so invisible to autospec).
    query._query_id = UUID(fake.query_id)
    fake.by_id[fake.query_id] = query
    proxy_query.side_effect = lambda query_id, workspace_id: fake.by_id[str(query_id)]
    direct_query.side_effect = lambda query_id, client, cluster: fake.by_id[str(query_id)]
    context._compute_id = UUID(fake.compute_id)
    context.workspace.id = UUID(fake.workspace_id)
    result.n_rows_total = 3
    fake.finish(pc.QueryStatus.SUCCESS, locations=["s3://results/part-0.parquet"])

    replace(pc, "authenticate", authenticate)
    replace(pc, "ComputeContext", compute_context)
    replace(pc, "LazyFrameRemote", lazyframe_remote)
    replace(pc, "ProxyQuery", proxy_query)
    replace(pc, "DirectQuery", direct_query)
    return fake


# Kept before any test replaces pc.ComputeContext with its autospec.
REAL_COMPUTE_CONTEXT = pc.ComputeContext
# What Polars Cloud fills in for a manifest field nobody declared.
MANIFEST_DEFAULTS = {"cluster_size": 1, "connection_mode": "direct", "env_vars": {}}


@dataclass
class FakeManifests:
    """Named manifests as Polars Cloud holds them, behind the autospec of ComputeContext.

    ``ComputeContext(workspace=..., name=...)`` reads a manifest back (``NotFoundError`` when
    absent, ``ComputeClusterMisspecified`` when it was recorded with other versions), and
    ``ComputeContext(<specs>).register(name)`` stores the specs it was built with.
    """

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
            context.cpus = stored.get("cpus")
            context.memory = stored.get("memory")
            context.instance_type = stored.get("instance_type")
            context.storage = stored.get("storage")
            context.cluster_size = stored["cluster_size"]
            context.connection_mode = stored["connection_mode"]
            context.env_vars = stored["env_vars"]
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
