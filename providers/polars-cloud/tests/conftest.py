"""Provider test set-up: a throwaway Airflow home, one metadata DB per session, connections,
and the stand-in for the hosted Polars Cloud API (``polars_cloud_provider.testing``)."""

from __future__ import annotations

import gc
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
DAGS_FOLDER = TESTS / "dags"
"""DAG files the tests run (each defines one DAG named after its file)."""
PROVIDER_ROOT = TESTS.parent
CONN_ID = "polars_cloud"

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

pytest_plugins = ["polars_cloud_provider.testing", "fake_manifests"]


# Airflow, Polars and FastAPI load hundreds of thousands of objects that live as long as the
# session.
# Frozen, Python's full garbage collections stop walking them again: during the run, and for
# 2-3 s at exit (pytest's last collections and the interpreter's own).
def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
    gc.freeze()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Create the SQLite metadata DB once per session (dag.test() needs one)."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture
def polars_cloud_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Provide the connection the way a deployment does: ``AIRFLOW_CONN_<ID>``."""

    def provide(**fields: object) -> str:
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{CONN_ID.upper()}",
            json.dumps({"conn_type": "polars_cloud", **fields}),
        )
        return CONN_ID

    return provide


@pytest.fixture
def local_connection(polars_cloud_connection, monkeypatch, tmp_path) -> Path:
    """The local engine (no secret), with intermediate results under a fresh directory."""
    from polars_cloud_provider import settings

    polars_cloud_connection(extra={"backend": "local"})
    monkeypatch.setenv(settings.env_var("local_root"), str(tmp_path / "intermediate"))
    return tmp_path / "intermediate"


@pytest.fixture
def cloud_connection(polars_cloud_connection) -> dict[str, str]:
    """A complete cloud connection with dummy service-account credentials."""
    credentials = {
        "login": "client-id-for-tests",
        "password": "client-secret-for-tests",  # pragma: allowlist secret
        "extra": {"workspace": "tests"},
    }
    polars_cloud_connection(**credentials)
    return credentials  # type: ignore[return-value]


def load_dag(dag_id: str) -> Any:
    """A fresh parse of ``tests/dags/<dag_id>.py``."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py"))
    if dag_id not in bag.dags:
        pytest.fail(f"DAG {dag_id!r} did not parse: {bag.import_errors}")
    return bag.dags[dag_id]


def run_dag(dag: Any, ds: str = "2026-01-01", *, retries: int = 0, on_retry=None) -> Any:
    """``dag.test()`` for the logical date ``ds``, retries at once (``retries``)."""
    for task in dag.tasks:
        task.retries = retries
        task.retry_delay = timedelta(0)
        if on_retry is not None:
            task.on_retry_callback = on_retry
    return dag.test(logical_date=datetime.fromisoformat(ds).replace(tzinfo=UTC))


def reset_secrets_backends() -> None:
    """Airflow builds the configured secrets backends once per process: drop them so the next
    lookup rebuilds them from the current configuration."""
    from airflow.sdk.configuration import clear_secrets_backends_cache
    from airflow.sdk.execution_time.cache import SecretCache

    clear_secrets_backends_cache()
    SecretCache.reset()


class ScriptedBackend:
    """A secrets backend whose answer a test scripts: a connection (JSON), ``None``, an exception
    to raise, or ``hold``: wait until the test releases it (a backend that does not answer)."""

    answer: object = None
    hold: Any = None  # threading.Event

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
        return self.connection_class.from_json(self.answer, conn_id=conn_id)  # type: ignore[attr-defined]

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        return None

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        return None

    def get_config(self, key: str) -> str | None:
        return None


@pytest.fixture
def scripted_backend(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Airflow configured with a ``ScriptedBackend`` (and no ``AIRFLOW_CONN_*`` for the default
    connection); a held lookup is released at teardown."""
    scripted = type("Scripted", (ScriptedBackend,), {"answer": None, "hold": None})
    globals()["Scripted"] = scripted  # where Airflow imports the configured class from
    monkeypatch.delenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", raising=False)
    for section in ("SECRETS__BACKEND", "WORKERS__SECRETS_BACKEND"):
        monkeypatch.setenv(f"AIRFLOW__{section}", f"{__name__}.Scripted")
        monkeypatch.setenv(f"AIRFLOW__{section}_KWARGS", "{}")
    reset_secrets_backends()
    yield scripted
    if scripted.hold is not None:
        scripted.hold.set()
    reset_secrets_backends()


@pytest.fixture
def silent_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3 endpoint on 127.0.0.1 that accepts connections and never answers, as a frozen
    (SIGSTOP'ed) store does; the storage options point at it."""
    from polars_cloud_provider import settings

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setenv(settings.env_var("storage_options"), json.dumps(s3_options(endpoint)))
    yield endpoint
    listener.close()


S3_KEYS = {
    "aws_region": "us-east-1",
    "aws_access_key_id": "moto-test-key",
    "aws_secret_access_key": "moto-test-secret",  # pragma: allowlist secret
}


def s3_options(endpoint: str) -> dict[str, str]:
    """Storage options (Polars' ``storage_options``) reaching the S3 API at ``endpoint``."""
    return {"aws_endpoint_url": endpoint, "aws_allow_http": "true", **S3_KEYS}


def s3_client(endpoint: str) -> Any:
    """A boto3 client for the S3 API at ``endpoint``."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_KEYS["aws_region"],
        aws_access_key_id=S3_KEYS["aws_access_key_id"],
        aws_secret_access_key=S3_KEYS["aws_secret_access_key"],
    )


@contextmanager
def moto_s3(*buckets: str) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, a real S3 API over HTTP, holding the empty ``buckets``;
    yields its endpoint."""
    import urllib.request

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://{}:{}".format(*server.get_host_and_port())
        # moto keeps its buckets in this process, not in the server: without a reset, a bucket
        # an earlier test of this worker filled would still hold its keys.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        for bucket in buckets:
            s3_client(endpoint).create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.stop()


S3_BUCKET = "pipelines"


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An empty bucket (``S3_BUCKET``) on ``moto_s3``, reached as a deployment reaches any
    S3-compatible store: the endpoint and keys in the environment. Yields a boto3 client."""
    with moto_s3(S3_BUCKET) as endpoint:
        for name, value in {
            "AWS_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
            "AWS_REGION": S3_KEYS["aws_region"],
            "AWS_DEFAULT_REGION": S3_KEYS["aws_region"],
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ALLOW_HTTP": "true",
        }.items():
            monkeypatch.setenv(name, value)
        yield s3_client(endpoint)


def s3_keys(client: Any, prefix: str = "") -> list[str]:
    """Every key of ``S3_BUCKET`` under ``prefix``."""
    listing = client.list_objects_v2(Bucket=S3_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))
