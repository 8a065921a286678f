"""The secrets-backend settings this project ships for deployments, applied to the test process.

Tests read them from the rendered ``secrets-backend.env`` (and compare ``airflow-secrets.cfg``
with it) instead of repeating them, so a wrong class, prefix or kwarg in what ships fails here.
"""

from __future__ import annotations

import configparser
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = PROJECT_ROOT / "secrets-backend.env"
CFG_FILE = PROJECT_ROOT / "airflow-secrets.cfg"
# (section, option) of airflow.cfg for each variable of the env file.
OPTIONS = {
    "AIRFLOW__SECRETS__BACKEND": ("secrets", "backend"),
    "AIRFLOW__SECRETS__BACKEND_KWARGS": ("secrets", "backend_kwargs"),
    "AIRFLOW__WORKERS__SECRETS_BACKEND": ("workers", "secrets_backend"),
    "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS": ("workers", "secrets_backend_kwargs"),
}

# Backend kwargs that would put the backend's own credential into a committed file.
CREDENTIAL_KWARGS = {
    "token",
    "password",
    "secret_id",
    "key_id",
    "jwt_token",
    "radius_secret",
    "gcp_keyfile_dict",
    "aws_secret_access_key",
    "aws_session_token",
}


def env_file_values(path: Path = ENV_FILE) -> dict[str, str]:
    """KEY=value lines, read the way docker --env-file reads them (no quoting, # comments)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def cfg_values(path: Path = CFG_FILE) -> dict[str, str]:
    """The airflow.cfg fragment, keyed by the environment variable of each option."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(path.read_text())
    return {variable: parser.get(*option) for variable, option in OPTIONS.items()}


def backend_kwargs() -> dict[str, object]:
    return json.loads(env_file_values()["AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS"])


def credential_kwargs(values: dict[str, str]) -> set[str]:
    """Credential kwargs in rendered settings; a committed file must name none."""
    return {
        name
        for variable in OPTIONS
        if variable.endswith("_KWARGS")
        for name in json.loads(values[variable])
        if name in CREDENTIAL_KWARGS
    }


def reset_secrets_backends() -> None:
    """Airflow builds the configured backends once per process: drop them so the next lookup
    rebuilds them from the current configuration."""
    from airflow.sdk.configuration import clear_secrets_backends_cache
    from airflow.sdk.execution_time.cache import SecretCache

    clear_secrets_backends_cache()
    SecretCache.reset()


@pytest.fixture
def rendered_secrets_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Configure Airflow exactly as secrets-backend.env does, with no AIRFLOW_CONN_* fallback."""
    from {{ cookiecutter.package_name }} import settings

    values = env_file_values()
    for variable, value in values.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv(f"AIRFLOW_CONN_{settings.load().conn_id.upper()}", raising=False)
    reset_secrets_backends()
    yield values
    reset_secrets_backends()  # later tests must not reach a backend configured here
