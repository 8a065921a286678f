"""The ``[polars_cloud]`` section of Airflow's configuration, read from
``AIRFLOW__POLARS_CLOUD__<OPTION>`` without importing Airflow: the local backend's child processes
and the command-line tools read the same values. A project's own choices are not here."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

SECTION = "polars_cloud"
MIN_IDLE_TIMEOUT_MINS = 10
LOCAL_ROOT_NAME = "polars-cloud-provider-intermediate"
DEFAULT_CONN_ID = "polars_cloud"


class SettingsError(ValueError):
    """An option has a value the provider cannot use."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The options (``DESCRIPTIONS`` says what each is), each overridden by ``env_var(<field>)``."""

    query_timeout_s: float
    local_root: str
    local_data_root: str | None
    storage_options: dict[str, str] | None
    storage_timeout_s: float
    local_retention_hours: float
    secrets_backend_timeout_s: float
    cluster_start_timeout_s: float
    defer_after_s: float
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
ZERO_ALLOWED = ("defer_after_s", "resume_settle_s")


def env_var(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"AIRFLOW__{SECTION.upper()}__{field.upper()}"


def load() -> Settings:
    """Read the settings: defaults, overridden by the environment."""
    raw = {name: os.environ.get(env_var(name), value).strip() for name, value in DEFAULTS.items()}
    numbers = {
        f.name: _number(raw, f.name) for f in dataclasses.fields(Settings) if f.type == "float"
    }
    return Settings(
        local_root=raw["local_root"] or str(Path(tempfile.gettempdir()) / LOCAL_ROOT_NAME),
        local_data_root=raw["local_data_root"].rstrip("/") or None,
        storage_options=_string_map(raw, "storage_options"),
        **numbers,
    )


def _number(raw: Mapping[str, str], field: str) -> float:
    value = raw[field]
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    zero_allowed = field in ZERO_ALLOWED
    if not 0 <= number < math.inf or (number == 0 and not zero_allowed):
        lowest = ">=" if zero_allowed else ">"
        raise SettingsError(f"{env_var(field)}={value!r}: expected a number {lowest} 0.")
    return number


def _string_map(raw: Mapping[str, str], field: str) -> dict[str, str] | None:
    if not raw[field]:
        return None
    try:
        parsed = json.loads(raw[field])
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        # The value may hold credentials: name the variable, never echo it.
        raise SettingsError(f"{env_var(field)} must be a JSON object of strings.")
    return parsed
