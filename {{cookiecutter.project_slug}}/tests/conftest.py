"""Test set-up: a throwaway Airflow home, the parsed DAGs, and a stand-in for Polars Cloud."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = PROJECT_ROOT / "dags"

# Airflow reads its configuration on first import, so the home is set before any test
# imports it. One home (and one metadata DB, created on first use) serves the session.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
)

pytest_plugins = ["fake_polars_cloud", "secrets_backend_settings"]


def run_dag(dag_id: str, ds: str | None = "2026-01-01", *, retries: int = 0, on_retry=None):
    """Run a fresh copy of ``dag_id`` with dag.test() for the logical date ``ds`` (None: a
    run without one, as a trigger with ``"logical_date": null`` makes).

    Retries are switched off on the copy (the shipped ones would hold a failing test for
    minutes of retry delay); the DAG files are not changed. Pass ``retries`` to test a
    retry: it then follows at once, after ``on_retry`` (an ``on_retry_callback``) if given.
    Returns the run and the state of each task.
    """
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py")).dags[dag_id]
    for task in dag.tasks:
        task.retries = retries
        task.retry_delay = timedelta(0)
        if on_retry is not None:
            task.on_retry_callback = [on_retry]  # a list once the operator exists
    run = dag.test(logical_date=datetime.fromisoformat(ds).replace(tzinfo=UTC) if ds else None)
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}


def pytest_sessionfinish(session: pytest.Session) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def dagbag():
    """Every DAG in dags/, parsed once per session the way the DAG processor parses them."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Create the SQLite metadata DB once per session (dag.test() needs one)."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture
def polars_cloud_connection(monkeypatch: pytest.MonkeyPatch):
    """Provide the Polars Cloud connection the way a deployment does: AIRFLOW_CONN_<ID>."""
    from {{ cookiecutter.package_name }} import settings

    def provide(**fields: object) -> str:
        conn_id = settings.load().conn_id
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "http", **fields})
        )
        return conn_id

    return provide


@pytest.fixture
def local_connection(polars_cloud_connection, monkeypatch, tmp_path) -> Path:
    """The local backend (no secret), with intermediate results under a fresh directory."""
    from {{ cookiecutter.package_name }} import settings

    polars_cloud_connection(extra={"backend": "local"})
    monkeypatch.setenv(settings.env_var("local_root"), str(tmp_path / "intermediate"))
    return tmp_path / "intermediate"


@pytest.fixture
def cloud_connection(polars_cloud_connection) -> dict[str, str]:
    """A complete cloud connection with dummy service-account credentials."""
    credentials = {
        "login": "client-id-for-tests",
        "password": "client-secret-for-tests",  # pragma: allowlist secret
    }
    polars_cloud_connection(**credentials)
    return credentials
