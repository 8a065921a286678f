"""Test set-up: a throwaway Airflow home, the parsed DAGs, and a stand-in for Polars Cloud."""

from __future__ import annotations

import functools
import gc
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = PROJECT_ROOT / "dags"
DAG_IDS = sorted(path.stem for path in DAGS_FOLDER.glob("*.py"))
"""Every DAG of dags/, by file name (the integrity tests hold each file to one DAG of that id)."""

# Airflow reads its configuration on first import, so the home is set before any test
# imports it. One home (and one metadata DB, created on first use) serves the session.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        # The local backend's intermediate results: here, not in the shared temp folder.
        "AIRFLOW__POLARS_CLOUD__LOCAL_ROOT": str(_AIRFLOW_HOME / "intermediate"),
    }
)

pytest_plugins = ["polars_cloud_provider.testing", "secrets_backend_settings"]

# Imported once the home is set:
from {{ cookiecutter.package_name }}.dev import first_day  # noqa: E402


@functools.cache
def parsed_dags():
    """Every DAG in dags/, parsed once per session the way the DAG processor parses them."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def parsed_dag(dag_id: str):
    """The DAG ``dag_id`` from the session's parse, or a failure saying why it is missing."""
    bag = parsed_dags()
    if dag_id not in bag.dags:
        errors = "\n".join(f"{file}: {error}" for file, error in bag.import_errors.items())
        pytest.fail(f"DAG {dag_id!r} did not parse (its file and dag_id must agree). {errors}")
    return bag.dags[dag_id]


@dataclass
class DagRunResult:
    """A finished ``dag.test()`` run, with the exception text of every failed attempt."""

    dag_id: str
    ds: str | None
    run: Any
    states: dict[str, str | None]
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return self.run.state

    def report(self) -> str:
        """For assertion messages: the run's state, every task's, and every error."""
        lines = [f"{self.dag_id} for {self.ds}: run {self.state}, tasks {self.states}"]
        for task, texts in self.errors.items():
            lines += [f"  {task} failed: {text}" for text in texts]
        return "\n".join(lines)

    def __iter__(self):  # `run, states = run_dag(...)` keeps working
        return iter((self.run, self.states))


START = "the DAG's start date"


def run_dag(dag_id: str, ds: str | None = START, *, retries=0, on_retry=None, prepare=None):
    """Run a fresh copy of ``dag_id`` with dag.test() for the logical date ``ds``.

    ``ds`` defaults to the DAG's start date; an earlier one is refused, because Airflow would
    create no task and call the run a success. None runs without a logical date (as a trigger
    with ``"logical_date": null`` does). Retries are switched off on the copy (the
    shipped ones would hold a failing test for minutes of retry delay); the DAG files are
    not changed. Pass ``retries`` to test a retry: it then follows at once, after
    ``on_retry`` (an ``on_retry_callback``) if given. ``prepare`` gets the fresh copy before
    it runs, for a test's own changes. Returns a ``DagRunResult``.
    """
    from airflow.dag_processing.dagbag import DagBag

    parsed = parsed_dag(dag_id)
    ds = first_day(parsed) if ds == START else ds
    if ds is not None and ds < first_day(parsed):
        raise ValueError(f"{ds} is before the start date of {dag_id}, {first_day(parsed)}")
    dag = DagBag(dag_folder=parsed.fileloc).dags[dag_id]
    errors: dict[str, list[str]] = {}

    def record(context) -> None:
        error = context.get("exception")
        errors.setdefault(context["ti"].task_id, []).append(f"{type(error).__name__}: {error}")

    for task in dag.tasks:
        task.retries = retries
        task.retry_delay = timedelta(0)
        task.on_failure_callback = [*_callbacks(task.on_failure_callback), record]
        task.on_retry_callback = [
            *_callbacks(task.on_retry_callback),
            record,
            *([on_retry] if on_retry else []),
        ]
    if prepare is not None:
        prepare(dag)
    with _no_idle_passes():
        run = dag.test(logical_date=datetime.fromisoformat(ds).replace(tzinfo=UTC) if ds else None)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    return DagRunResult(dag_id, ds, run, states, errors)


@contextmanager
def _no_idle_passes():
    """Without dag.test()'s one-second sleep after a pass of its loop that ran nothing (the
    teardown after a failed task always takes one such pass). Every other sleep still sleeps."""
    from airflow.sdk import DAG

    sleep, loop = time.sleep, inspect.unwrap(DAG.test).__code__

    def sleep_outside_the_loop(seconds: float) -> None:
        if sys._getframe(1).f_code is not loop:
            sleep(seconds)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "sleep", sleep_outside_the_loop)
        yield


def _callbacks(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# Airflow, Polars and FastAPI load hundreds of thousands of objects that live as long as the
# session.
# Frozen, Python's full garbage collections stop walking them again: a few tenths of a
# second per collection during the run, and 2-3 s at exit (pytest's last collections and
# the interpreter's own), for objects that are freed with the process anyway.
def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
    gc.freeze()


@pytest.fixture(scope="session")
def dagbag():
    """Every DAG in dags/, parsed once per session the way the DAG processor parses them."""
    return parsed_dags()


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
            f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "polars_cloud", **fields})
        )
        return conn_id

    return provide


@pytest.fixture
def local_connection(polars_cloud_connection, monkeypatch, tmp_path) -> Path:
    """The local backend (no secret), with intermediate results under a fresh directory."""
    from polars_cloud_provider import settings as provider_settings

    polars_cloud_connection(extra={"backend": "local"})
    monkeypatch.setenv(provider_settings.env_var("local_root"), str(tmp_path / "intermediate"))
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
