"""Descriptions of where a query runs. Plain data: safe to build at DAG-parse time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from polars_cloud_provider import settings

Mode = Literal["single-node", "distributed"]
SINGLE_NODE: Mode = "single-node"  # on one worker: several queries can share a cluster
DISTRIBUTED: Mode = "distributed"  # over every worker: other queries queue behind it
MODES: tuple[Mode, ...] = (SINGLE_NODE, DISTRIBUTED)


@dataclass(frozen=True)
class Manifest:
    """A cluster registered under a name in Polars Cloud (see ``manifests.toml``).

    Every task naming the same manifest shares one cluster; it starts with the first query
    and stops when a shutdown task says so or when its idle timeout runs out. Without a
    ``workspace``, the connection's ``workspace`` extra names it when the task runs.
    """

    name: str
    workspace: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"Manifest needs the name of a registered manifest, got {self.name!r}")

    def resolved(self, workspace: str | None) -> Manifest:
        return Manifest(name=self.name, workspace=self.workspace or workspace)


@dataclass(frozen=True)
class Specs:
    """An unnamed cluster sized in place, for one task.

    Nobody else can find it to stop it: bound it with ``compute.immediate_shutdown`` or, for
    fire-and-forget queries, a short ``idle_timeout_mins``. Without a ``workspace``, the
    connection's ``workspace`` extra names it when the task runs.
    """

    cpus: int
    memory_gb: int
    cluster_size: int = 1
    idle_timeout_mins: int = settings.MIN_IDLE_TIMEOUT_MINS
    workspace: str | None = None

    def __post_init__(self) -> None:
        # The least values Polars Cloud accepts.
        least = {"cpus": 1, "memory_gb": 1, "cluster_size": 1}
        least["idle_timeout_mins"] = settings.MIN_IDLE_TIMEOUT_MINS
        for field, minimum in least.items():
            value = getattr(self, field)
            if value is not None and (not isinstance(value, int) or value < minimum):
                raise ValueError(f"Specs.{field} must be an integer >= {minimum}, got {value!r}")

    def resolved(self, workspace: str | None) -> Specs:
        return replace(self, workspace=self.workspace or workspace)


Cluster = Manifest | Specs
