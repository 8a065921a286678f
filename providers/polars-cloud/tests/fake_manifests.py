"""A stand-in for the manifests Polars Cloud holds, for the manifests command's tests: a
pytest plugin (``pytest_plugins`` in conftest.py) with the fixture ``fake_manifests``, on top of
``fake_cloud`` (``polars_cloud_provider.testing``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from unittest.mock import create_autospec

import polars_cloud as pc
import pytest
from polars_cloud.polars_cloud import ComputeClusterMisspecified, NotFoundError
from polars_cloud_provider.testing import FakeCloud

REAL_COMPUTE_CONTEXT = pc.ComputeContext  # kept before a test replaces it with its autospec
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
