"""Bring Polars Cloud in line with ``manifests.toml``, one manifest at a time: every function
returns one ``Result`` per manifest, and one that fails (reported with its error) does not stop
the others."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from polars_cloud_provider.compute.errors import ManifestDrift, ManifestNotRegistered
from polars_cloud_provider.manifests.spec import ManifestSpec

if TYPE_CHECKING:  # imported at run time only by who logs in: it loads polars_cloud
    from polars_cloud_provider.engines.cloud import ManifestRegistry as Registry

# Declared fields compared with what is registered; Polars Cloud does not read back these two.
NOT_READ_BACK = ("labels", "requirements")
COMPARED = tuple(
    f.name for f in fields(ManifestSpec) if f.name not in ("name", "workspace", *NOT_READ_BACK)
)


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str = ""
    failed: bool = False


def lines(results: list[Result]) -> list[str]:
    """One line per result, the columns aligned."""
    width = max(len(result.name) for result in results)
    return [f"{r.name:<{width}}  {r.status:<14} {r.detail}".rstrip() for r in results]


def plan(specs: list[ManifestSpec], status: str = "would register") -> list[Result]:
    """What ``register`` (or ``check``) would look at, without calling anything."""
    return [Result(spec.name, status, spec.describe()) for spec in specs]


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
    """``field registered -> declared`` for every declared field that differs (for env_vars only
    that it changed: its values may be secret)."""
    return [
        "env_vars changed" if field == "env_vars" else f"{field} {registered[field]} -> {declared}"
        for field in COMPARED
        if (declared := getattr(spec, field)) is not None
        and field in registered
        and declared != registered[field]
    ]


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
    # Declared fields Polars Cloud does not read back: a change to them goes unseen.
    unseen = [f for f in COMPARED if f not in registered] + list(NOT_READ_BACK)
    if hidden := [f for f in unseen if getattr(spec, f) is not None]:
        detail += f" ({', '.join(hidden)} not read back: --force re-registers)"
    return Result(spec.name, "unchanged", detail)


def _check_one(spec: ManifestSpec, registry: Registry) -> Result:
    fix = "make manifests"
    try:
        registered = registry.read(spec.workspace, spec.name)
    except ManifestNotRegistered:
        return Result(spec.name, "MISSING", f"not registered in {spec.workspace}: {fix}", True)
    except ManifestDrift as error:
        detail = f"{_reason(error)}; re-register from this environment: {fix}"
        return Result(spec.name, "DRIFT", detail, failed=True)
    if changes := differences(spec, registered):
        return Result(spec.name, "DIFFERS", f"{', '.join(changes)}: {fix}", failed=True)
    return Result(spec.name, "ok", "versions and settings match this environment")


def _guarded(name: str, action: Callable[..., Result], *args: Any) -> Result:
    try:
        return action(*args)
    except Exception as error:
        return Result(name, "FAILED", f"{type(error).__name__}: {error}", failed=True)


def _reason(error: Exception) -> str:
    """Polars Cloud's own words when there are some, else ours."""
    return str(error.__cause__ or error)
