"""Where the pipelines run and where their data lives.

Defaults were chosen when the project was generated; every value can be overridden per
deployment with an environment variable (see ``Settings``), without touching code.
Nothing here reads the Airflow metadata database or imports anything heavy, so DAG files
can use it at parse time.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "{{ cookiecutter.package_name | upper }}_"
MIN_IDLE_TIMEOUT_MINS = 10
LOCAL_ROOT_NAME = "{{ cookiecutter.package_name }}-intermediate"


class SettingsError(ValueError):
    """An environment override has a value the pipelines cannot use."""


@dataclass(frozen=True)
class Settings:
    """Each field is overridden by ``ENV_PREFIX`` + its name in capitals: ``conn_id`` by
    ``{{ cookiecutter.package_name | upper }}_CONN_ID``, and so on (``env_var``; docs/settings.md)."""

    conn_id: str
    workspace: str
    manifest: str
    data_root: str  # no trailing "/"
    cpus: int  # unnamed (Specs) clusters
    memory_gb: int  # unnamed (Specs) clusters
    cluster_size: int  # unnamed (Specs) clusters
    idle_timeout_mins: int
    query_timeout_s: float
    # Local backend only (the connection extra {"backend": "local"}):
    local_root: str  # intermediate results
    storage_options: dict[str, str] | None  # JSON
    # Secrets backend: the longest a task waits for it to answer a connection lookup.
    secrets_backend_timeout_s: float
    # Failures, retries and bounds (compute/failures.py, dag_defaults.py, local backend):
    retry_delay_s: float  # the first retry's; it doubles
    storage_timeout_s: float  # local backend
    local_retention_hours: float  # local backend
    # Polars Cloud execution (waiting for a named cluster that is starting or stopping):
    cluster_start_timeout_s: float
    # Deferred tasks: the least time between deferring and resuming (compute/trigger.py).
    resume_settle_s: float


DEFAULTS: Mapping[str, str] = {
    "conn_id": {{ cookiecutter.polars_cloud_conn_id | tojson }},
    "workspace": {{ cookiecutter.polars_cloud_workspace | tojson }},
    "manifest": {{ cookiecutter.manifest_name | tojson }},
    "data_root": {{ cookiecutter.data_bucket | tojson }},
    "cpus": {{ cookiecutter.cpus | string | tojson }},
    "memory_gb": {{ cookiecutter.memory_gb | string | tojson }},
    "cluster_size": {{ cookiecutter.cluster_size | string | tojson }},
    "idle_timeout_mins": {{ cookiecutter.idle_timeout_mins | string | tojson }},
    "query_timeout_s": "3600",
    "local_root": "",
    "storage_options": "",
    # Secrets backend: above the worst case of the rendered per-request timeouts.
    "secrets_backend_timeout_s": "20",
    # Failures, retries and bounds:
    "retry_delay_s": "60",
    "storage_timeout_s": "30",
    "local_retention_hours": "24",
    # Polars Cloud execution:
    "cluster_start_timeout_s": "900",
    "resume_settle_s": "10",
}


def env_var(field: str) -> str:
    """The environment variable that overrides ``field``."""
    return f"{ENV_PREFIX}{field.upper()}"


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings: rendered defaults, overridden by the environment."""
    environ = os.environ if environ is None else environ
    raw = {name: environ.get(env_var(name), default).strip() for name, default in DEFAULTS.items()}
    for field in ("conn_id", "workspace", "manifest", "data_root"):
        if not raw[field]:
            raise SettingsError(f"{env_var(field)} is set but empty; unset it or give a value.")
    return Settings(
        conn_id=raw["conn_id"],
        workspace=raw["workspace"],
        manifest=raw["manifest"],
        data_root=raw["data_root"].rstrip("/"),
        cpus=_positive_int(raw, "cpus"),
        memory_gb=_positive_int(raw, "memory_gb"),
        cluster_size=_positive_int(raw, "cluster_size"),
        idle_timeout_mins=_positive_int(raw, "idle_timeout_mins", minimum=MIN_IDLE_TIMEOUT_MINS),
        query_timeout_s=_positive_number(raw, "query_timeout_s"),
        local_root=raw["local_root"] or str(Path(tempfile.gettempdir()) / LOCAL_ROOT_NAME),
        storage_options=_string_map(raw, "storage_options"),
        secrets_backend_timeout_s=_positive_number(raw, "secrets_backend_timeout_s"),
        retry_delay_s=_positive_number(raw, "retry_delay_s"),
        storage_timeout_s=_positive_number(raw, "storage_timeout_s"),
        local_retention_hours=_positive_number(raw, "local_retention_hours"),
        cluster_start_timeout_s=_positive_number(raw, "cluster_start_timeout_s"),
        resume_settle_s=_positive_number(raw, "resume_settle_s", zero=True),
    )


def _positive_int(raw: Mapping[str, str], field: str, minimum: int = 1) -> int:
    value = raw[field]
    if not value.isdigit() or int(value) < minimum:
        raise SettingsError(f"{env_var(field)}={value!r}: expected a whole number >= {minimum}.")
    return int(value)


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
