"""Read ``manifests.toml`` and check every manifest before anything talks to Polars Cloud.

The rules are the ones Polars Cloud enforces (positive sizes, an idle timeout of at least 10
minutes, a size given as ``cpus`` + ``memory_gb`` or as an ``instance_type``), so a bad file
fails here, with the manifest's name and the key, instead of halfway through a registration.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polars_cloud_provider import settings

CONNECTION_MODES = ("direct", "proxy")
FILE_KEYS = ("workspace", "manifest")
# Same rule as the template's prompts: safe in URLs, logs and file names.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")


class ManifestFileError(ValueError):
    """The manifest file cannot be used; ``problems`` holds one sentence per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {problem}" for problem in problems))


@dataclass(frozen=True)
class ManifestSpec:
    """One manifest as declared; ``None`` means "not declared, Polars Cloud's default"."""

    name: str
    workspace: str
    cpus: int | None = None
    memory_gb: int | None = None
    instance_type: str | None = None
    storage_gb: int | None = None
    cluster_size: int | None = None
    idle_timeout_mins: int | None = None
    labels: tuple[str, ...] | None = None
    connection_mode: str | None = None
    env_vars: Mapping[str, str] | None = field(default=None, hash=False)
    requirements: Path | None = None

    def context_arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``polars_cloud.ComputeContext`` that build this manifest."""
        arguments: dict[str, Any] = {
            "workspace": self.workspace,
            "cpus": self.cpus,
            "memory": self.memory_gb,
            "instance_type": self.instance_type,
            "storage": self.storage_gb,
            "cluster_size": self.cluster_size,
            "idle_timeout_mins": self.idle_timeout_mins,
            "labels": list(self.labels) if self.labels is not None else None,
            "connection_mode": self.connection_mode,
            "env_vars": dict(self.env_vars) if self.env_vars is not None else None,
            "requirements": str(self.requirements) if self.requirements else None,
        }
        return {key: value for key, value in arguments.items() if value is not None}

    def describe(self) -> str:
        """The declared settings on one line, for plans and logs."""
        shown = {
            key: value
            for key, value in self.context_arguments().items()
            if key not in {"workspace", "env_vars"}
        }
        if self.env_vars:
            # Names only: values may be sensitive and would be printed to CI logs.
            shown["env_vars"] = "[" + ", ".join(sorted(self.env_vars)) + "]"
        details = " ".join(f"{key}={value}" for key, value in shown.items())
        return f"workspace={self.workspace} {details}".rstrip()


def _positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"must be a whole number >= 1, got {value!r}"
    return None


def _idle_timeout(value: Any) -> str | None:
    minimum = settings.MIN_IDLE_TIMEOUT_MINS
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return (
            f"must be a whole number of minutes >= {minimum} (the Polars Cloud minimum), "
            f"got {value!r}"
        )
    return None


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"must be a non-empty string, got {value!r}"
    return None


def _cloud_name(value: Any) -> str | None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        return (
            "must be 1-63 letters, digits, '-' or '_', starting and ending with a letter or "
            f"digit, got {value!r}"
        )
    return None


def _labels(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        return f"must be a list of non-empty strings, got {value!r}"
    return None


def _connection_mode(value: Any) -> str | None:
    if value not in CONNECTION_MODES:
        return f"must be one of {', '.join(map(repr, CONNECTION_MODES))}, got {value!r}"
    return None


def _env_vars(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return 'must be a table of NAME = "string value" pairs'
    return None


RULES = {
    "name": _cloud_name,
    "workspace": _cloud_name,
    "cpus": _positive_int,
    "memory_gb": _positive_int,
    "instance_type": _text,
    "storage_gb": _positive_int,
    "cluster_size": _positive_int,
    "idle_timeout_mins": _idle_timeout,
    "labels": _labels,
    "connection_mode": _connection_mode,
    "env_vars": _env_vars,
    "requirements": _text,
}


@dataclass(frozen=True)
class ManifestFile:
    workspace: str  # the default workspace: the file's, or the settings' override
    manifests: list[ManifestSpec]

    def names(self) -> list[str]:
        return [manifest.name for manifest in self.manifests]


def load(path: Path, workspace: str | None = None) -> ManifestFile:
    """Every manifest in ``path``, checked; raises ``ManifestFileError`` listing each problem.

    ``workspace`` overrides the file's default workspace (``--workspace`` of the command).
    """
    try:
        document = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ManifestFileError(path, ["file not found"]) from None
    except UnicodeDecodeError as error:
        raise ManifestFileError(
            path,
            [
                f"is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
                f"{error.start}): save it as UTF-8"
            ],
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ManifestFileError(path, [f"not valid TOML: {error}"]) from None
    problems = [
        f"unknown top-level key {key!r}{_suggestion(key, FILE_KEYS)}; "
        f"allowed: {', '.join(FILE_KEYS)}"
        for key in document
        if key not in FILE_KEYS
    ]
    default_workspace = _default_workspace(document, workspace, problems)
    entries = document.get("manifest", [])
    if not isinstance(entries, list) or not entries:
        problems.append("declares no manifest: add a [[manifest]] table")
        raise ManifestFileError(path, problems)
    specs = []
    for position, entry in enumerate(entries, start=1):
        spec = _manifest(entry, position, default_workspace, path.parent, problems)
        if spec is not None:
            specs.append(spec)
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            problems.append(
                f"manifest name {spec.name!r} is declared more than once; names must be unique"
            )
        seen.add(spec.name)
    if problems:
        raise ManifestFileError(path, problems)
    return ManifestFile(workspace=default_workspace, manifests=specs)


def _default_workspace(
    document: Mapping[str, Any], override: str | None, problems: list[str]
) -> str:
    workspace = (override or "").strip() or document.get("workspace", "")
    if workspace == "":
        problems.append('names no workspace: add workspace = "<name>" at the top')
        return workspace
    problem = _cloud_name(workspace)
    if problem:
        problems.append(f"workspace {problem}")
    return workspace


def _manifest(
    entry: Any, position: int, default_workspace: str, base: Path, problems: list[str]
) -> ManifestSpec | None:
    if not isinstance(entry, dict):
        problems.append(f"manifest #{position} must be a [[manifest]] table")
        return None
    name = entry.get("name")
    label = f"manifest {name!r}" if isinstance(name, str) else f"manifest #{position}"
    found = len(problems)
    if "name" not in entry:
        problems.append(f'{label} has no name: add name = "..."')
    for key, value in entry.items():
        rule = RULES.get(key)
        if rule is None:
            problems.append(
                f"{label}: unknown key {key!r}{_suggestion(key, RULES)}; "
                f"allowed: {', '.join(RULES)}"
            )
        elif problem := rule(value):
            problems.append(f"{label}: {key} {problem}")
    if len(problems) > found:
        return None  # the sizing rules below would only repeat these problems
    sized_by_specs = "cpus" in entry or "memory_gb" in entry
    if sized_by_specs and "instance_type" in entry:
        problems.append(f"{label}: give cpus + memory_gb or instance_type, not both")
    elif sized_by_specs and not ("cpus" in entry and "memory_gb" in entry):
        missing = "memory_gb" if "cpus" in entry else "cpus"
        problems.append(f"{label}: cpus and memory_gb go together; add {missing}")
    elif not sized_by_specs and "instance_type" not in entry:
        problems.append(f"{label}: size it with cpus + memory_gb, or with instance_type")
    requirements = None
    if isinstance(entry.get("requirements"), str):
        requirements = (base / entry["requirements"]).resolve()
        if not requirements.is_file():
            problems.append(f"{label}: requirements file {str(requirements)!r} does not exist")
    if len(problems) > found:
        return None
    return ManifestSpec(
        name=entry["name"],
        workspace=entry.get("workspace", default_workspace),
        cpus=entry.get("cpus"),
        memory_gb=entry.get("memory_gb"),
        instance_type=entry.get("instance_type"),
        storage_gb=entry.get("storage_gb"),
        cluster_size=entry.get("cluster_size"),
        idle_timeout_mins=entry.get("idle_timeout_mins"),
        labels=tuple(entry["labels"]) if "labels" in entry else None,
        connection_mode=entry.get("connection_mode"),
        env_vars=dict(entry["env_vars"]) if "env_vars" in entry else None,
        requirements=requirements,
    )


def _suggestion(key: str, allowed: Any) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
