"""Bring Polars Cloud in line with ``manifests.toml``, one manifest at a time.

Every function returns one ``Result`` per manifest and never stops at the first failure: a
manifest that fails is reported with its name and the error, and the others still run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from polars_cloud_provider.compute.errors import ManifestDrift, ManifestNotRegistered
from polars_cloud_provider.manifests.spec import ManifestSpec

# Fields compared with what is registered when the manifest declares them.
COMPARED = (
    "cpus",
    "memory_gb",
    "instance_type",
    "storage_gb",
    "cluster_size",
    "idle_timeout_mins",
    "connection_mode",
    "env_vars",
)


class Registry(Protocol):
    def read(self, workspace: str, name: str) -> Mapping[str, Any]: ...

    def register(self, name: str, arguments: Mapping[str, Any]) -> None: ...

    def unregister(self, workspace: str, name: str) -> None: ...


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str = ""
    failed: bool = False

    def line(self, width: int = 0) -> str:
        return f"{self.name:<{width}}  {self.status:<14} {self.detail}".rstrip()


def plan(specs: list[ManifestSpec]) -> list[Result]:
    """What ``register`` would send, without calling anything."""
    return [Result(spec.name, "would register", spec.describe()) for spec in specs]


def register(specs: list[ManifestSpec], registry: Registry, force: bool = False) -> list[Result]:
    """Register what is new, changed or recorded with other versions; leave the rest alone."""
    return [_guarded(spec.name, _register_one, spec, registry, force) for spec in specs]


def check(specs: list[ManifestSpec], registry: Registry) -> list[Result]:
    """Report manifests this environment would be refused, or that differ from the file."""
    return [_guarded(spec.name, _check_one, spec, registry) for spec in specs]


def unregister(name: str, workspace: str, registry: Registry) -> Result:
    def unregister_one() -> Result:
        try:
            registry.unregister(workspace, name)
        except ManifestNotRegistered:
            return Result(name, "absent", f"not registered in {workspace}; nothing to do")
        except ManifestDrift as error:
            return Result(
                name,
                "FAILED",
                f"{error} Remove it in the Polars Cloud dashboard (Compute > Manifests) or from "
                "an environment with the recorded versions.",
                failed=True,
            )
        return Result(name, "unregistered", f"removed from {workspace}")

    return _guarded(name, unregister_one)


def differences(spec: ManifestSpec, registered: Mapping[str, Any]) -> list[str]:
    """``field registered -> declared`` for every declared field that differs."""
    changes = []
    for field in COMPARED:
        declared = getattr(spec, field)
        if declared is None or field not in registered:
            continue
        if field == "env_vars":
            if dict(declared) != dict(registered[field] or {}):
                changes.append("env_vars changed")  # values may be secret: never printed
        elif declared != registered[field]:
            changes.append(f"{field} {registered[field]} -> {declared}")
    return changes


def unreadable(spec: ManifestSpec, registered: Mapping[str, Any]) -> list[str]:
    """Declared fields Polars Cloud does not read back, so a change to them goes unseen."""
    fields = [f for f in COMPARED if getattr(spec, f) is not None and f not in registered]
    fields += [f for f in ("labels", "requirements") if getattr(spec, f) is not None]
    return fields


def _register_one(spec: ManifestSpec, registry: Registry, force: bool) -> Result:
    try:
        registered = registry.read(spec.workspace, spec.name)
    except ManifestNotRegistered:
        registry.register(spec.name, spec.context_arguments())
        return Result(spec.name, "registered", f"new: {spec.describe()}")
    except ManifestDrift as error:
        registry.register(spec.name, spec.context_arguments())
        return Result(spec.name, "re-registered", f"recorded versions differed ({_reason(error)})")
    changes = differences(spec, registered)
    if changes or force:
        registry.register(spec.name, spec.context_arguments())
        return Result(spec.name, "updated", ", ".join(changes) or "forced (--force)")
    detail = "already registered with these settings"
    if hidden := unreadable(spec, registered):
        detail += f" ({', '.join(hidden)} not read back: --force re-registers)"
    return Result(spec.name, "unchanged", detail)


def _check_one(spec: ManifestSpec, registry: Registry) -> Result:
    try:
        registered = registry.read(spec.workspace, spec.name)
    except ManifestNotRegistered:
        return Result(
            spec.name, "MISSING", f"not registered in {spec.workspace}: make manifests", True
        )
    except ManifestDrift as error:
        return Result(
            spec.name,
            "DRIFT",
            f"{_reason(error)}; re-register from this environment: make manifests",
            failed=True,
        )
    if changes := differences(spec, registered):
        return Result(spec.name, "DIFFERS", f"{', '.join(changes)}: make manifests", True)
    return Result(spec.name, "ok", "versions and settings match this environment")


def _guarded(name: str, action: Any, *args: Any) -> Result:
    try:
        return action(*args)
    except Exception as error:
        return Result(name, "FAILED", f"{type(error).__name__}: {error}", failed=True)


def _reason(error: Exception) -> str:
    """Polars Cloud's own words when there are some, else ours."""
    return str(error.__cause__ or error)
