"""The secrets-backend settings this project ships for deployments, applied to the test process,
and the faults a backend meets (a port that never answers, a port that refuses).

Tests read the settings from the rendered ``secrets-backend.env`` (and compare
``airflow-secrets.cfg`` with it) instead of repeating them, so a wrong class, prefix or kwarg in
what ships fails here.
"""

from __future__ import annotations

import configparser
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

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


def configure_backend(
    monkeypatch: pytest.MonkeyPatch, backend_class: str, kwargs: dict[str, object]
) -> None:
    """Point Airflow's [secrets] and [workers] backend at ``backend_class`` with ``kwargs``."""
    for section in ("SECRETS__BACKEND", "WORKERS__SECRETS_BACKEND"):
        monkeypatch.setenv(f"AIRFLOW__{section}", backend_class)
        monkeypatch.setenv(f"AIRFLOW__{section}_KWARGS", json.dumps(kwargs))
    reset_secrets_backends()


@pytest.fixture
def silent_address() -> Iterator[str]:
    """``127.0.0.1:<port>`` where connections are accepted (by the kernel) and never answered."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def refused_address() -> Iterator[str]:
    """``127.0.0.1:<port>`` that refuses connections (bound, not listening: nobody else gets it)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{closed.getsockname()[1]}"


class ScriptedBackend:
    """A secrets backend whose answer a test scripts: a connection (JSON), ``None``, an exception
    to raise, or ``hold``: wait until the test releases it (a backend that does not answer)."""

    answer: ClassVar[object] = None
    hold: ClassVar[threading.Event | None] = None

    def __init__(self, **kwargs: object) -> None:
        pass

    def _set_connection_class(self, conn_class: type) -> None:
        self.connection_class = conn_class

    def get_connection(self, conn_id: str, team_name: str | None = None) -> object:
        if self.hold is not None:
            self.hold.wait()
        if isinstance(self.answer, BaseException):
            raise self.answer
        if self.answer is None:
            return None
        return self.connection_class.from_json(self.answer, conn_id=conn_id)

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        return None

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        return None

    def get_config(self, key: str) -> str | None:
        return None


@pytest.fixture
def scripted_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ScriptedBackend]]:
    """Airflow configured with a ``ScriptedBackend``; a held lookup is released at teardown."""
    from {{ cookiecutter.package_name }} import settings

    scripted = type("Scripted", (ScriptedBackend,), {"answer": None, "hold": None})
    globals()["Scripted"] = scripted  # where Airflow imports the configured class from
    monkeypatch.delenv(f"AIRFLOW_CONN_{settings.load().conn_id.upper()}", raising=False)
    configure_backend(monkeypatch, f"{__name__}.Scripted", {})
    yield scripted
    if scripted.hold is not None:
        scripted.hold.set()
    reset_secrets_backends()
