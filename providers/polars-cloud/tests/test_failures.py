"""Fail fast on what a retry cannot fix, retry what it can: the table in compute/failures.py.

The errors are real ones: produced by real Polars against real files and a local HTTP
responder playing S3, or instances of the installed polars_cloud's own exception classes
with the messages its code raises.
"""

from __future__ import annotations

import contextvars
import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import polars_cloud as pc
import pytest
from conftest import CONN_ID, DAGS_FOLDER, run_dag
from polars_cloud.exceptions import WorkspaceResolveError
from polars_cloud.polars_cloud import AuthLoadError, ComputeClusterMisspecified, NotFoundError
from polars_cloud_provider import compute, settings
from polars_cloud_provider.compute import failures
from polars_cloud_provider.compute.errors import (
    ManifestDrift,
    ManifestNotRegistered,
    QueryCancelled,
    QueryNotFound,
)
from polars_cloud_provider.compute.permanent import NoLogicalDate, PermanentFailure
from polars_cloud_provider.hooks.polars_cloud import authenticate

DAG_ID = "failures_orders_by_status"
"""tests/dags/: reads raw/orders under $FAILURES_DATA_ROOT and sinks a partition."""
CLOUD_ORDERS = "s3://bucket/raw/orders/*.parquet"
CLOUD_TARGET = "s3://bucket/curated/out/ds=2026-01-01/"
MANIFEST = compute.Manifest("failures")
WORKSPACE = "tests"
"""The ``workspace`` extra of the ``cloud_connection`` fixture."""


def write_orders(root: Path, rows: int = 20) -> Path:
    """Sample orders at ``root/raw/orders/part-0.parquet``; the glob that reads them."""
    folder = root / "raw" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    statuses = ["open", "shipped", "returned"]
    pl.DataFrame(
        {"order_id": range(rows), "status": [statuses[i % 3] for i in range(rows)]}
    ).write_parquet(folder / "part-0.parquet")
    return folder / "*.parquet"


def _raised(action: Callable[[], object]) -> BaseException:
    try:
        action()
    except BaseException as error:
        return error
    raise AssertionError("expected an error")


class _S3Says(http.server.BaseHTTPRequestHandler):
    """Answers every request with one S3 error (status and XML body set per test case)."""

    answer: tuple[int, bytes] = (503, b"")

    def do_GET(self) -> None:
        status, body = self.answer
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture(scope="module")
def s3_says() -> Iterator[Callable[[int, str], BaseException]]:
    """Polars' own error for a listing answered with an S3 error (no retries)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _S3Says)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def answer(status: int, code: str) -> BaseException:
        _S3Says.answer = (status, f"<Error><Code>{code}</Code></Error>".encode())
        return _listing_error(server.server_address[1])

    yield answer
    server.shutdown()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inputs")
    for name, frames in {
        "corrupt": [pl.DataFrame({"a": [1]}), b"not parquet at all"],
        "mixed": [pl.DataFrame({"a": [1]}), pl.DataFrame({"a": ["x"]})],
        "text": [pl.DataFrame({"a": ["1", "x"]})],
    }.items():
        (root / name).mkdir()
        for index, frame in enumerate(frames):
            path = root / name / f"part-{index}.parquet"
            if isinstance(frame, bytes):
                path.write_bytes(frame)
            else:
                frame.write_parquet(path)
    (root / "a_file").write_text("not a directory")
    return root


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listing_error(port: int) -> BaseException:
    """What Polars raises listing an S3 glob at 127.0.0.1:``port`` (with no retries)."""
    options = {
        "aws_endpoint_url": f"http://127.0.0.1:{port}",
        "aws_allow_http": "true",
        "aws_region": "us-east-1",
        "aws_access_key_id": "responder-key",
        "aws_secret_access_key": "responder-secret",  # pragma: allowlist secret
        "max_retries": 0,
    }
    return _raised(pl.scan_parquet("s3://bucket/raw/*.parquet", storage_options=options).collect)


def _rest(status: str, body: str = "") -> ValueError:
    """What polars-cloud 0.12's REST client raises for an HTTP error answer (404 raises
    NotFoundError with the same text): seen against a loopback stub; the body is the stub's."""
    message = {"message": f"Status {status} with body: {body}", "errors": {}}
    error_class = NotFoundError if status.startswith("404") else ValueError
    return error_class(json.dumps(message, indent=2))


def _grpc(description: str) -> RuntimeError:
    """What its gRPC client raises for a status (tonic's description of the code, then the
    server's message): seen against a loopback gRPC stub."""
    return RuntimeError(f"Error calling gRPC endpoint, {description}, stub says no")


# The library's own texts (polars_cloud.abi3.so; raised by it without network, unshare -rn).
LOGIN_DNS_ERROR = (
    'Error getting access token: Reqwest(reqwest::Error { kind: Request, url: "https://auth.prd'
    '.cloud.pola.rs/realms/Polars/protocol/openid-connect/token", source: hyper_util::client::'
    'legacy::Error(Connect, ConnectError("dns error", Custom { kind: Uncategorized, error: "fai'
    'led to lookup address information: Temporary failure in name resolution" })) })\n\tLog i'
    "n with `pc login` or set the environment variables.\n\tSee https://docs.pola.rs/polars-c"
    "loud/explain/authentication/ for more details."
)
NO_TOKEN = (
    "Authentication token was not found.\n\tLog in with `pc login` or set the environment "
    "variables.\n\tSee https://docs.pola.rs/polars-cloud/explain/authentication/ for more "
    "details."
)
UNAUTHORIZED = _rest(
    "401 Unauthorized",
    "Authentication method Environment variable (POLARS_CLOUD_ACCESS_TOKEN) failed.",
)
QUERY_ID = "0197a1b2-0000-7000-8000-00000000beef"


CASES: dict[str, tuple[Callable[..., BaseException], bool, str]] = {
    # id: (how to get the error from the fixtures, permanent?, what the table calls it)
    "corrupt-parquet": (
        lambda f, s3: _raised(pl.scan_parquet(f / "corrupt" / "*.parquet").collect),
        True,
        "corrupt input",
    ),
    "disk-full": (  # /dev/full answers every write with ENOSPC, as a full disk does
        lambda f, s3: _raised(lambda: pl.LazyFrame({"a": [1]}).sink_parquet("/dev/full")),
        True,
        "disk full",
    ),
    "object-store-full": (lambda f, s3: s3(507, "XMinioStorageFull"), True, "disk full"),
    "disk-full-os-error": (
        lambda f, s3: OSError(28, "No space left on device", "/data/curated/x/part-0.parquet"),
        True,
        "disk full",
    ),
    "empty-glob": (
        lambda f, s3: _raised(pl.scan_parquet(f / "absent" / "*.parquet").collect),
        True,
        "missing input",
    ),
    "missing-file": (
        lambda f, s3: _raised(pl.scan_parquet(f / "absent.parquet").collect),
        True,
        "missing input",
    ),
    "s3-no-such-bucket": (lambda f, s3: s3(404, "NoSuchBucket"), True, "missing input"),
    "files-of-two-schemas": (
        lambda f, s3: _raised(pl.scan_parquet(f / "mixed" / "*.parquet").collect),
        True,
        "schema mismatch",
    ),
    "unknown-column": (
        lambda f, s3: _raised(pl.LazyFrame({"a": [1]}).select("b").collect),
        True,
        "unknown column",
    ),
    "strict-cast-of-bad-values": (
        lambda f, s3: _raised(
            pl.scan_parquet(f / "text" / "*.parquet").select(pl.col("a").cast(pl.Int64)).collect
        ),
        True,
        "bad input",
    ),
    "string-plus-integer": (
        lambda f, s3: _raised(
            pl.LazyFrame({"a": ["x"], "b": [1]}).select(pl.col("a") + pl.col("b")).collect
        ),
        True,
        "invalid plan",
    ),
    "sink-below-a-file": (
        lambda f, s3: _raised(
            lambda: pl.LazyFrame({"a": [1]}).sink_parquet(f / "a_file" / "x.parquet", mkdir=True)
        ),
        True,
        "access refused",
    ),
    "s3-access-denied": (lambda f, s3: s3(403, "AccessDenied"), True, "access refused"),
    "no-logical-date": (lambda f, s3: NoLogicalDate("no logical date"), True, "no logical date"),
    "manifest-drift": (lambda f, s3: ManifestDrift("python 3.11.7"), True, "configuration"),
    "unknown-workspace": (
        lambda f, s3: WorkspaceResolveError("workspace 'nope' not found"),
        True,
        "workspace not found",
    ),
    "manifest-not-registered": (
        lambda f, s3: ManifestNotRegistered("No manifest 'm' is registered in workspace 'w'"),
        True,
        "manifest not registered",
    ),
    "rest-404": (lambda f, s3: _rest("404 Not Found"), True, "not found"),
    "grpc-not-found": (
        lambda f, s3: _grpc("Some requested entity was not found"),
        True,
        "not found",
    ),
    "query-not-found": (
        lambda f, s3: QueryNotFound(QUERY_ID, "ws", "HTTP 404"),
        True,
        "query not found",
    ),
    "rest-401": (lambda f, s3: UNAUTHORIZED, True, "authentication failure"),
    "rest-403": (
        lambda f, s3: _rest("403 Forbidden", '{"detail":"no access"}'),
        True,
        "authentication failure",
    ),
    "grpc-unauthenticated": (
        lambda f, s3: _grpc("The request does not have valid authentication credentials"),
        True,
        "authentication failure",
    ),
    "grpc-permission-denied": (
        lambda f, s3: _grpc(
            "The caller does not have permission to execute the specified operation"
        ),
        True,
        "authentication failure",
    ),
    "no-token": (lambda f, s3: AuthLoadError(NO_TOKEN), True, "authentication failure"),
    "login-dns-error": (
        lambda f, s3: AuthLoadError(LOGIN_DNS_ERROR),
        False,
        "login endpoint unreachable",
    ),
    "cancelled-outside-airflow": (
        lambda f, s3: QueryCancelled(QUERY_ID),
        True,
        "query cancelled outside Airflow",
    ),
    "cluster-misspecified": (
        lambda f, s3: ComputeClusterMisspecified("python version differs"),
        True,
        "configuration",
    ),
    "connection-refused": (lambda f, s3: _listing_error(_closed_port()), False, "network"),
    "connection-reset": (lambda f, s3: ConnectionResetError(104, "reset"), False, "network"),
    "dns": (lambda f, s3: socket.gaierror(-2, "Name or service not known"), False, "network"),
    "grpc-timeout": (
        lambda f, s3: RuntimeError(
            "Error calling gRPC endpoint, The operation was cancelled, Timeout expired"
        ),
        False,
        "network",
    ),
    "s3-slow-down": (lambda f, s3: s3(503, "SlowDown"), False, "throttling"),
    "rest-429": (lambda f, s3: _rest("429 Too Many Requests"), False, "throttling"),
    "rest-503": (lambda f, s3: _rest("503 Service Unavailable"), False, "service unavailable"),
    "rest-unreachable": (
        lambda f, s3: RuntimeError(
            "Error calling REST endpoint: error sending request for url (http://127.0.0.1:9/api/"
            "v1/user/me)\nhttp://127.0.0.1:9/api/v1/user/me\nclient error (Connect)"
        ),
        False,
        "network",
    ),
    "s3-unavailable": (lambda f, s3: s3(503, "ServiceUnavailable"), False, "service unavailable"),
    "grpc-unavailable": (
        lambda f, s3: RuntimeError(
            "Error calling gRPC endpoint, The service is currently unavailable"
        ),
        False,
        "service unavailable",
    ),
    "cluster-failed-to-start": (
        lambda f, s3: RuntimeError("Compute cluster in terminal state (out of capacity)"),
        False,
        "cluster did not start",
    ),
    "cluster-stopped": (
        lambda f, s3: RuntimeError("cannot execute query, context status is FAILED"),
        False,
        "cluster did not start",
    ),
    "query-timeout": (
        lambda f, s3: compute.QueryTimedOut("local-0", 60),
        True,
        "query timed out",
    ),
    "sigterm": (
        lambda f, s3: compute.QueryInterrupted("local-0", "SIGTERM"),
        False,
        "interrupted",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_table_classifies_each_kind_of_failure(case, files, s3_says) -> None:
    make, permanent, what = CASES[case]
    error = make(files, s3_says)
    wrapped = compute.QueryFailed("local-0", "FAILED", str(error))
    wrapped.__cause__ = error  # as both backends raise them

    for raised in (error, wrapped):
        rule = failures.classify(raised)
        assert (rule and rule.permanent, rule and rule.what) == (permanent, what), raised


def test_a_typed_rule_wins_over_words_in_the_message() -> None:
    """Messages quote column names and values: those never decide the class."""
    error = _raised(pl.LazyFrame({"throttle_too_many_requests": [1]}).select("b").collect)
    assert failures.classify(error).what == "unknown column"


def test_an_error_the_table_does_not_know_keeps_its_retries() -> None:
    error = LookupError("something new")
    with pytest.raises(LookupError) as caught, failures.classified():
        raise error
    assert caught.value is error
    assert "Failure not in the failure table: Airflow retries this task." in error.__notes__


@authenticate
def _sink_orders(source: str, target: str) -> str:
    orders = compute.scan_parquet(source, dataset="orders")
    return compute.sink(orders, target, on=MANIFEST)


@authenticate
def _sink_orders_retrying_timeouts(source: str, target: str) -> str:
    orders = compute.scan_parquet(source, dataset="orders")
    return compute.sink(orders, target, on=MANIFEST, retry_timeout=True)


def test_a_corrupt_input_fails_at_once_naming_the_dataset_and_the_file(
    local_connection, tmp_path, monkeypatch
) -> None:
    """Polars says "File out of specification"; the failure says which file of which
    dataset, fails without retries, and is still a failed query to code that catches one."""
    source = write_orders(tmp_path)
    valid = (tmp_path / "raw" / "orders" / "part-0.parquet").read_bytes()
    corrupt = tmp_path / "raw" / "orders" / "part-9.parquet"
    corrupt.write_bytes(valid[: len(valid) // 2] + valid[-8:])  # cut short, footer magic kept

    with pytest.raises(PermanentFailure) as caught:
        _sink_orders(str(source), str(tmp_path / "curated" / "out" / "ds=2026-01-01"))

    message = str(caught.value)
    assert message.startswith("Corrupt input, not retried: Polars query local-")
    assert f"not a parquet file: {corrupt}" in message
    assert f"read dataset 'orders' at {source}" in message
    assert isinstance(caught.value, compute.QueryFailed) and caught.value.status == "FAILED"
    assert "\n" not in message
    assert not list((tmp_path / "curated").rglob("*.parquet"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_named_with_the_path_not_blamed_on_the_input(
    local_connection, tmp_path, monkeypatch
) -> None:
    """The staged file is /dev/full: Polars' write fails with ENOSPC ("File out of
    specification: underlying IO error: No space left on device"), as on a full disk."""
    from polars_cloud_provider.engines import local_staging

    monkeypatch.setenv(settings.env_var("local_data_root"), str(tmp_path))
    source = write_orders(tmp_path)
    real_stage = local_staging.stage

    def stage_on_a_full_disk(final, query_id):
        staged = real_stage(final, query_id)
        (staged.directory / "part-0.parquet").symlink_to("/dev/full")
        return staged

    monkeypatch.setattr(local_staging, "stage", stage_on_a_full_disk)
    target = str(tmp_path / "curated" / "out" / "ds=2026-01-01")

    with pytest.raises(PermanentFailure) as caught:
        _sink_orders(str(source), target)

    message = str(caught.value)
    assert message.startswith("Disk full, not retried: Polars query local-"), message
    assert "No space left on device" in message and f"writing {target}" in message
    assert (
        "MiB free of" in message and "Corrupt" not in message and "Replace or remove" not in message
    )
    assert "\n" not in message
    assert not (tmp_path / "curated" / "out").exists()


def test_a_cloud_query_failing_on_its_data_fails_at_once(fake_cloud, cloud_connection) -> None:
    error = pl.exceptions.SchemaError("data type mismatch for column amount")
    fake_cloud.finish(pc.QueryStatus.FAILED, error=error)

    with pytest.raises(PermanentFailure, match="Schema mismatch, not retried") as caught:
        _sink_orders(CLOUD_ORDERS, CLOUD_TARGET)
    assert caught.value.__cause__ is error
    assert caught.value.query_id == fake_cloud.query_id
    assert f"writing {CLOUD_TARGET}" in str(caught.value)


def test_a_transient_cloud_error_is_left_to_retries(fake_cloud, cloud_connection) -> None:
    unavailable = RuntimeError("Error calling gRPC endpoint, The service is currently unavailable")
    fake_cloud.query.await_result.side_effect = unavailable

    with pytest.raises(RuntimeError) as caught:
        _sink_orders(CLOUD_ORDERS, CLOUD_TARGET)
    assert caught.value is unavailable
    assert "Failure transient (service unavailable): Airflow retries this task." in (
        unavailable.__notes__
    )


@pytest.mark.parametrize(
    "refusal",
    [
        UNAUTHORIZED,
        _rest("403 Forbidden", '{"detail":"no access"}'),
        _grpc("The request does not have valid authentication credentials"),
        _grpc("The caller does not have permission to execute the specified operation"),
        AuthLoadError(NO_TOKEN),
    ],
    ids=["rest-401", "rest-403", "grpc-unauthenticated", "grpc-permission-denied", "no-token"],
)
def test_refused_credentials_fail_at_once_naming_the_connection(
    fake_cloud, cloud_connection, refusal
) -> None:
    """The old `error calling (rest|grpc) endpoint` pattern retried every one of these."""
    fake_cloud.query.get_status.side_effect = refusal

    with pytest.raises(PermanentFailure) as caught:
        _sink_orders(CLOUD_ORDERS, CLOUD_TARGET)
    message = str(caught.value)
    assert message.startswith("Authentication failure, not retried: ")
    assert f"Airflow connection {CONN_ID!r}" in message
    assert "\n" not in message


def test_a_query_cancelled_outside_airflow_fails_at_once_saying_so(
    fake_cloud, cloud_connection
) -> None:
    """A person cancelled it in the Polars Cloud UI: a retry would run (and bill) it again."""
    fake_cloud.finish(pc.QueryStatus.CANCELED)

    with pytest.raises(PermanentFailure) as caught:
        _sink_orders(CLOUD_ORDERS, CLOUD_TARGET)
    assert isinstance(caught.value, compute.QueryFailed) and caught.value.status == "CANCELED"
    assert "cancelled outside Airflow" in str(caught.value)
    assert fake_cloud.query_id in str(caught.value)


def test_a_query_airflow_cancelled_is_reported_as_such_and_left_to_retries(
    fake_cloud, cloud_connection
) -> None:
    from polars_cloud_provider.engines.backend import cancel_within
    from polars_cloud_provider.engines.cloud import CloudBackend

    chosen = CloudBackend()
    chosen.workspace = WORKSPACE  # what the hook sets from the connection's extra
    query = chosen.start(
        chosen.connect(MANIFEST, settings.load()),
        pl.LazyFrame({"a": [1]}),
        compute.DISTRIBUTED,
        "s3://bucket/out/",
    )
    assert cancel_within(chosen, query)  # what a timeout or on_kill does
    fake_cloud.finish(pc.QueryStatus.CANCELED)

    with pytest.raises(compute.QueryFailed) as caught, failures.classified():
        chosen.outcome(query)
    assert "cancelled by Airflow" in str(caught.value)
    assert not isinstance(caught.value, PermanentFailure | QueryCancelled)


def test_a_query_timeout_fails_at_once_naming_the_timeout(
    fake_cloud, cloud_connection, monkeypatch
) -> None:
    """Retried, a query that needed an hour would run (and bill) another hour."""
    monkeypatch.setenv(settings.env_var("query_timeout_s"), "0.05")
    fake_cloud.running()

    with pytest.raises(PermanentFailure) as caught:
        _sink_orders(CLOUD_ORDERS, CLOUD_TARGET)
    message = str(caught.value)
    assert message.startswith(
        f"Query timed out, not retried: Polars query {fake_cloud.query_id} did not finish "
        "within 0.05 s"
    )
    assert "AIRFLOW__POLARS_CLOUD__QUERY_TIMEOUT_S" in message and "retry_timeout=True" in message
    assert isinstance(caught.value, compute.QueryTimedOut)
    fake_cloud.query.cancel.assert_called_once_with()


def test_retry_timeout_leaves_a_query_timeout_to_retries(
    fake_cloud, cloud_connection, monkeypatch
) -> None:
    monkeypatch.setenv(settings.env_var("query_timeout_s"), "0.05")
    fake_cloud.running()

    with pytest.raises(compute.QueryTimedOut) as caught:
        _sink_orders_retrying_timeouts(CLOUD_ORDERS, CLOUD_TARGET)
    assert not isinstance(caught.value, PermanentFailure)
    assert "Failure transient (query timed out): Airflow retries this task." in (
        caught.value.__notes__
    )


def test_not_found_says_what_was_not_found(fake_cloud, cloud_connection) -> None:
    fake_cloud.query.await_result.side_effect = _rest("404 Not Found")
    with pytest.raises(PermanentFailure) as query:
        _sink_orders(CLOUD_ORDERS, CLOUD_TARGET)
    assert str(query.value).startswith(
        f"Query not found, not retried: Polars Cloud does not know query {fake_cloud.query_id} "
        f"in workspace {fake_cloud.workspace_id} (HTTP 404)"
    )

    fake_cloud.ComputeContext.side_effect = _rest("404 Not Found")
    with pytest.raises(PermanentFailure) as manifest:
        _sink_orders(CLOUD_ORDERS, CLOUD_TARGET)
    assert str(manifest.value).startswith(
        f"Manifest not registered, not retried: No manifest {MANIFEST.name!r} is registered "
        f"in workspace {WORKSPACE!r}"
    )
    assert "register_manifests" in str(manifest.value)


@pytest.fixture
def dag_with_inputs(airflow_db, local_connection, tmp_path, monkeypatch):
    """A DAG that reads an input and sinks a partition, and sample inputs for it."""
    monkeypatch.setenv("FAILURES_DATA_ROOT", str(tmp_path))
    write_orders(tmp_path)
    return _load_dag(DAG_ID)


def _load_dag(dag_id: str):
    """A fresh parse of ``tests/dags/<dag_id>.py`` (conftest.load_dag passes DagBag an
    argument Airflow 3.3 no longer takes)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py"))
    assert dag_id in bag.dags, bag.import_errors
    return bag.dags[dag_id]


def _assert_failed_at_once(run) -> None:
    """Some task failed, each on its first try, though retries were on (with no delay)."""
    failed = {ti.task_id: ti.try_number for ti in run.get_task_instances() if ti.state == "failed"}
    assert run.state == "failed"
    assert failed and set(failed.values()) == {1}, failed


def test_a_corrupt_input_fails_its_dag_run_at_once(dag_with_inputs, tmp_path) -> None:
    (tmp_path / "raw" / "orders" / "part-9.parquet").write_bytes(b"half a file")

    run = run_dag(dag_with_inputs, retries=2)

    _assert_failed_at_once(run)
    assert not list((tmp_path / "curated").rglob("*.parquet"))


def test_the_same_dag_run_succeeds_on_sound_inputs(dag_with_inputs, tmp_path) -> None:
    """The control for the two tests around it: only the input or the date is wrong there."""
    run = run_dag(dag_with_inputs, retries=2)

    assert run.state == "success"
    written = pl.read_parquet(tmp_path / "curated/orders_by_status/ds=2026-01-01/*.parquet")
    assert written["orders"].sum() == 20


def test_a_run_without_a_logical_date_fails_at_once(dag_with_inputs, tmp_path) -> None:
    for task in dag_with_inputs.tasks:  # as run_dag does, for a run with no logical date
        task.retries, task.retry_delay = 2, timedelta(0)
    run = dag_with_inputs.test(logical_date=None)

    _assert_failed_at_once(run)
    [ti] = run.get_task_instances()
    assert ti.state == "failed"
    assert not list((tmp_path / "curated").rglob("*.parquet"))


def test_the_datasets_read_are_recorded_once_each() -> None:
    def read() -> list[tuple[str, str]]:
        for name in ("orders", "orders", "returns"):
            compute.scan_parquet(f"/data/raw/{name}/*.parquet", dataset=name)
        return list(failures.reads())

    assert contextvars.Context().run(read) == [
        ("orders", "/data/raw/orders/*.parquet"),
        ("returns", "/data/raw/returns/*.parquet"),
    ]


def test_settings_for_failures_refuse_values_that_would_not_bound_anything(monkeypatch) -> None:
    for field in ("query_timeout_s", "storage_timeout_s", "local_retention_hours"):
        for bad in ("0", "-1", "soon", "", "inf"):
            monkeypatch.setenv(settings.env_var(field), bad)
            with pytest.raises(settings.SettingsError, match=settings.env_var(field)):
                settings.load()
        monkeypatch.delenv(settings.env_var(field))
