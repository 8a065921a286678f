"""Where this project's pipelines run and where their data lives: yours to edit.

Defaults were chosen when the project was generated; every value can be overridden per
deployment with an environment variable (``env_var``: ``{{ cookiecutter.package_name | upper }}_<FIELD>``),
without touching code. The provider's own bounds (query timeout, storage timeout...) are
Airflow options of the ``[polars_cloud]`` section (docs/settings.md). Nothing here reads the
metadata database or imports anything heavy, so DAG files use it at parse time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from polars_cloud_provider.compute import Manifest, Specs

ENV_PREFIX = "{{ cookiecutter.package_name | upper }}_"
MIN_IDLE_TIMEOUT_MINS = 10


class SettingsError(ValueError):
    """An environment override has a value the pipelines cannot use."""


@dataclass(frozen=True)
class Settings:
    """Each field is overridden by ``ENV_PREFIX`` + its name in capitals (``env_var``)."""

    conn_id: str  # the Airflow connection of type polars_cloud
    workspace: str
    manifest: str  # the shared manifest (manifests.toml)
    data_root: str  # no trailing "/"
    cpus: int  # unnamed (Specs) clusters
    memory_gb: int  # unnamed (Specs) clusters
    cluster_size: int  # unnamed (Specs) clusters
    idle_timeout_mins: int
    retry_delay_s: float  # the first retry's; it doubles (dag_defaults.py)

    def manifest_cluster(self, name: str | None = None) -> Manifest:
        """The named manifest ``name`` (default: the shared one) in this workspace."""
        return Manifest(name or self.manifest, workspace=self.workspace)

    def specs_cluster(self) -> Specs:
        """An unnamed cluster of this project's size, for one task."""
        return Specs(
            cpus=self.cpus,
            memory_gb=self.memory_gb,
            cluster_size=self.cluster_size,
            idle_timeout_mins=self.idle_timeout_mins,
            workspace=self.workspace,
        )


DEFAULTS: Mapping[str, str] = {
    "conn_id": {{ cookiecutter.polars_cloud_conn_id | tojson }},
    "workspace": {{ cookiecutter.polars_cloud_workspace | tojson }},
    "manifest": {{ cookiecutter.manifest_name | tojson }},
    "data_root": {{ cookiecutter.data_bucket | tojson }},
    "cpus": {{ cookiecutter.cpus | string | tojson }},
    "memory_gb": {{ cookiecutter.memory_gb | string | tojson }},
    "cluster_size": {{ cookiecutter.cluster_size | string | tojson }},
    "idle_timeout_mins": {{ cookiecutter.idle_timeout_mins | string | tojson }},
    "retry_delay_s": "60",
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
        retry_delay_s=_positive_number(raw, "retry_delay_s"),
    )


def _positive_int(raw: Mapping[str, str], field: str, minimum: int = 1) -> int:
    value = raw[field]
    if not value.isdigit() or int(value) < minimum:
        raise SettingsError(f"{env_var(field)}={value!r}: expected a whole number >= {minimum}.")
    return int(value)


def _positive_number(raw: Mapping[str, str], field: str) -> float:
    value = raw[field]
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number == float("inf"):
        raise SettingsError(f"{env_var(field)}={value!r}: expected a number > 0.")
    return number
