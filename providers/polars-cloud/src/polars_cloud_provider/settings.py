"""The provider's runtime settings: the ``[polars_cloud]`` section of Airflow's configuration.

Each option is read from its environment variable, ``AIRFLOW__POLARS_CLOUD__<OPTION>``
(``env_var``), the way Airflow reads its own, so a deployment sets it next to its other
Airflow variables. Nothing here imports Airflow or anything heavy: the local backend's child
processes and the command-line tools read the same values without loading Airflow.

What belongs to a project (its workspace, manifests, data root, cluster sizes) is not here:
the project passes it (``compute.Manifest``, ``compute.Specs``, the operator's
``polars_cloud_conn_id``), or it lives in the connection (its ``workspace`` extra).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SECTION = "polars_cloud"
ENV_PREFIX = f"AIRFLOW__{SECTION.upper()}__"
MIN_IDLE_TIMEOUT_MINS = 10
LOCAL_ROOT_NAME = "polars-cloud-provider-intermediate"
DEFAULT_CONN_ID = "polars_cloud"


class SettingsError(ValueError):
    """An option has a value the provider cannot use."""


@dataclass(frozen=True)
class Settings:
    """The options, each overridden by ``env_var(<field>)``."""

    query_timeout_s: float
    # Local backend only (the connection extra {"backend": "local"}):
    local_root: str  # intermediate results
    local_data_root: str | None  # the top of the data tree: writes are staged in its .staging/
    storage_options: dict[str, str] | None  # JSON
    storage_timeout_s: float
    local_retention_hours: float
    # Secrets backend: the longest a task waits for it to answer a connection lookup.
    secrets_backend_timeout_s: float
    # Polars Cloud: starting a cluster, or waiting for a named one starting or stopping.
    cluster_start_timeout_s: float
    # Deferrable tasks: how long a query is awaited on the worker before the task defers.
    defer_after_s: float
    # Deferred tasks: the least time between deferring and resuming (triggers/query.py).
    resume_settle_s: float


DEFAULTS: Mapping[str, str] = {
    "query_timeout_s": "3600",
    "local_root": "",
    "local_data_root": "",
    "storage_options": "",
    "storage_timeout_s": "30",
    "local_retention_hours": "24",
    # Above the worst case of the per-request timeouts a project's secrets backend renders.
    "secrets_backend_timeout_s": "20",
    "cluster_start_timeout_s": "900",
    "defer_after_s": "15",
    "resume_settle_s": "10",
}

DESCRIPTIONS: Mapping[str, str] = {
    "query_timeout_s": "Seconds a query may run before it is cancelled and the task fails.",
    "local_root": "Local backend: where intermediate results go (default: the temp folder).",
    "local_data_root": "Local backend: the top of the data tree (raw/, curated/...); writes are "
    "staged in its .staging/, outside every tree a reader globs (default: beside the dataset).",
    "storage_options": "Local backend: object store options as a JSON object of strings.",
    "storage_timeout_s": "Local backend: seconds a storage request may go unanswered.",
    "local_retention_hours": "Local backend: hours intermediate results are kept.",
    "secrets_backend_timeout_s": "Seconds a task waits for the secrets backend's answer.",
    "cluster_start_timeout_s": "Seconds a task waits for a cluster to start (then stops it), "
    "or for a named cluster that is starting or stopping.",
    "defer_after_s": "Seconds a deferrable task waits for its query on the worker before "
    "deferring (0: defer at once unless the query is already done).",
    "resume_settle_s": "Least seconds between a deferral and the resumption of the task.",
}


def env_var(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"{ENV_PREFIX}{field.upper()}"


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings: defaults, overridden by the environment."""
    environ = os.environ if environ is None else environ
    raw = {name: environ.get(env_var(name), default).strip() for name, default in DEFAULTS.items()}
    return Settings(
        query_timeout_s=_positive_number(raw, "query_timeout_s"),
        local_root=raw["local_root"] or str(Path(tempfile.gettempdir()) / LOCAL_ROOT_NAME),
        local_data_root=raw["local_data_root"].rstrip("/") or None,
        storage_options=_string_map(raw, "storage_options"),
        storage_timeout_s=_positive_number(raw, "storage_timeout_s"),
        local_retention_hours=_positive_number(raw, "local_retention_hours"),
        secrets_backend_timeout_s=_positive_number(raw, "secrets_backend_timeout_s"),
        cluster_start_timeout_s=_positive_number(raw, "cluster_start_timeout_s"),
        defer_after_s=_positive_number(raw, "defer_after_s", zero=True),
        resume_settle_s=_positive_number(raw, "resume_settle_s", zero=True),
    )


def _positive_number(raw: Mapping[str, str], field: str, zero: bool = False) -> float:
    value = raw[field]
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    lowest = ">=" if zero else ">"
    if not (number >= 0 if zero else number > 0) or number == float("inf"):
        raise SettingsError(f"{env_var(field)}={value!r}: expected a number {lowest} 0.")
    return number


def _string_map(raw: Mapping[str, str], field: str) -> dict[str, str] | None:
    value = raw[field]
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        # The value may hold credentials: name the variable, never echo it.
        raise SettingsError(f"{env_var(field)} must be a JSON object of strings.")
    return parsed
