"""Read ``manifests.toml`` and check every manifest by the rules Polars Cloud enforces, so a bad
file fails here, naming the manifest and the key, not halfway through a registration."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from polars_cloud_provider import settings

CONNECTION_MODES = ("direct", "proxy")
FILE_KEYS = ("workspace", "manifest")
# Same rule as the template's prompts: safe in URLs, logs and file names.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")
# ManifestSpec fields whose ComputeContext argument has another name, or another type.
_ARGUMENT_NAMES = {"memory_gb": "memory", "storage_gb": "storage"}
_ARGUMENT_TYPES: dict[str, type] = {"labels": list, "env_vars": dict, "requirements": str}


class ManifestFileError(ValueError):
    """The manifest file cannot be used; ``problems`` holds one sentence per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
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
        arguments = {}
        for key in [f.name for f in fields(self) if f.name != "name"]:
            value = getattr(self, key)
            if value is not None:
                convert = _ARGUMENT_TYPES.get(key)
                arguments[_ARGUMENT_NAMES.get(key, key)] = convert(value) if convert else value
        return arguments

    def describe(self) -> str:
        """The declared settings on one line, for plans and logs."""
        shown = self.context_arguments()
        if self.env_vars is not None:  # names only: the values may be secret, and logs are not
            shown["env_vars"] = "[" + ", ".join(sorted(self.env_vars)) + "]"
        return " ".join(f"{key}={value}" for key, value in shown.items())


def _whole(minimum: int) -> Callable[[Any], bool]:
    return lambda value: type(value) is int and value >= minimum  # a bool is no number here


def _cloud_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_NAME.fullmatch(value))


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


_CLOUD_NAME = (
    "must be 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit, "
    "got {value!r}"
)
_POSITIVE = "must be a whole number >= 1, got {value!r}"
_TEXT = "must be a non-empty string, got {value!r}"
# Each key of a [[manifest]] table: (is the value valid, the problem, formatted with the value).
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (_cloud_name, _CLOUD_NAME),
    "workspace": (_cloud_name, _CLOUD_NAME),
    "cpus": (_whole(1), _POSITIVE),
    "memory_gb": (_whole(1), _POSITIVE),
    "instance_type": (_text, _TEXT),
    "storage_gb": (_whole(1), _POSITIVE),
    "cluster_size": (_whole(1), _POSITIVE),
    "idle_timeout_mins": (
        _whole(settings.MIN_IDLE_TIMEOUT_MINS),
        f"must be a whole number of minutes >= {settings.MIN_IDLE_TIMEOUT_MINS} (the Polars "
        "Cloud minimum), got {value!r}",
    ),
    "labels": (
        lambda value: isinstance(value, list) and all(isinstance(v, str) and v for v in value),
        "must be a list of non-empty strings, got {value!r}",
    ),
    "connection_mode": (
        lambda value: value in CONNECTION_MODES,
        f"must be one of {', '.join(map(repr, CONNECTION_MODES))}, got {{value!r}}",
    ),
    "env_vars": (  # the problem never shows the values: they may be secret
        lambda value: isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
        'must be a table of NAME = "string value" pairs',
    ),
    "requirements": (_text, _TEXT),
}


def _problem(key: str, value: Any) -> str | None:
    valid, problem = RULES[key]
    return None if valid(value) else f"{key} {problem.format(value=value)}"


@dataclass(frozen=True)
class ManifestFile:
    workspace: str  # the default workspace: the file's, or the settings' override
    manifests: list[ManifestSpec]

    def names(self) -> list[str]:
        return [manifest.name for manifest in self.manifests]


def load(path: Path, workspace: str | None = None) -> ManifestFile:
    """Every manifest in ``path``, checked, ``workspace`` overriding the file's default; raises
    ``ManifestFileError`` listing each problem."""
    try:
        document = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ManifestFileError(path, ["file not found"]) from None
    except UnicodeDecodeError as error:
        byte, offset = error.object[error.start], error.start
        problem = f"is not UTF-8 text (byte 0x{byte:02x} at offset {offset}): save it as UTF-8"
        raise ManifestFileError(path, [problem]) from None
    except tomllib.TOMLDecodeError as error:
        raise ManifestFileError(path, [f"not valid TOML: {error}"]) from None
    problems = [
        _unknown("top-level key", key, FILE_KEYS) for key in document if key not in FILE_KEYS
    ]
    default_workspace = (workspace or "").strip() or document.get("workspace", "")
    if default_workspace == "":
        problems.append('names no workspace: add workspace = "<name>" at the top')
    elif invalid := _problem("workspace", default_workspace):
        problems.append(invalid)
    entries = document.get("manifest", [])
    if not isinstance(entries, list) or not entries:
        problems.append("declares no manifest: add a [[manifest]] table")
        raise ManifestFileError(path, problems)
    specs = [
        spec
        for position, entry in enumerate(entries, start=1)
        if (spec := _manifest(entry, position, default_workspace, path.parent, problems))
    ]
    problems += [
        f"manifest name {name!r} is declared more than once; names must be unique"
        for name, count in Counter(spec.name for spec in specs).items()
        if count > 1
    ]
    if problems:
        raise ManifestFileError(path, problems)
    return ManifestFile(workspace=default_workspace, manifests=specs)


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
        if key not in RULES:
            problems.append(f"{label}: {_unknown('key', key, RULES)}")
        elif problem := _problem(key, value):
            problems.append(f"{label}: {problem}")
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
    declared = {**entry, "workspace": entry.get("workspace", default_workspace)}
    if "labels" in entry:
        declared["labels"] = tuple(entry["labels"])  # hashable, as the frozen spec is
    if "requirements" in entry:
        requirements = declared["requirements"] = (base / entry["requirements"]).resolve()
        if not requirements.is_file():
            problems.append(f"{label}: requirements file {str(requirements)!r} does not exist")
    return None if len(problems) > found else ManifestSpec(**declared)


def _unknown(what: str, key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    suggestion = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {key!r}{suggestion}; allowed: {', '.join(allowed)}"
