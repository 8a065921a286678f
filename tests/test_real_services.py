"""The generated project deployed for real: PostgreSQL 15 and Airflow's four services.

One fresh bake, its own ``.venv`` made by ``uv sync`` (as ``make install`` does), and one
deployment (``airflow_deployment.py``) shared by every test here: PostgreSQL on 127.0.0.1,
``airflow db migrate``, then the api-server, scheduler, dag-processor and triggerer as
separate processes with the LocalExecutor and the local backend. Everything goes through the
REST API v2 with a token from ``/auth/token``, as an operator or a CI job would drive it.

The example DAGs are named here on purpose: this test is about them. Outputs are checked
with the generated project's own sample data and ``tests/expected.py``. The wall time of
each phase is printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import psutil
import pytest
from airflow_deployment import (
    HANG_S,
    Deployment,
    DeploymentError,
    clean_base_env,
    package_of,
    postgres_bindir,
    sync_environment,
)
from conftest import PHASES_PROPERTY, bake_ok
from moto.server import ThreadedMotoServer
from test_bake import EXAMPLE_DAGS

DS = "2026-01-01"
ROWS = 2_000
RETRY_DELAY_S = "5"  # the first retry's delay (settings.retry_delay_s), long enough to react
BUCKET = "real-services"
AWS = {
    "AWS_ACCESS_KEY_ID": "moto-test-key",
    "AWS_SECRET_ACCESS_KEY": "moto-test-secret",  # pragma: allowlist secret
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}
# The provider's extra `openlineage` (the version pinned in the repository's uv.lock): added to
# the bake's environment as `uv add "airflow-provider-polars-cloud[openlineage]"` would.
OPENLINEAGE_PROVIDER = "apache-airflow-providers-openlineage==2.20.3"
LINEAGE_NAMESPACE = "real-services"

# What each example DAG writes (this template test is about the examples).
OUTPUTS = {
    "complete_pipeline": ["daily_report"],
    "multistage_pipeline": ["category_summary"],
    "single_query_awaited": ["orders_by_status"],
}
# The tasks of the pipelines tested here that run queries (and so can defer).
QUERY_TASKS = {
    "complete_pipeline": {
        "transform_sales",
        "transform_inventory",
        "transform_returns",
        "generate_report",
    },
    "multistage_pipeline": {"stage_1_active_orders", "stage_2_category_summary"},
}
# Run inside the project's environment: its own expected values for the outputs.
CHECK_OUTPUTS = """
import sys
import polars as pl
from expected import assert_output_matches
from polars_cloud_provider import settings
from {package} import datasets
from {package}.dev import sample_data

ds, rows, outputs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
frames = sample_data.sample_frames(rows, ds=ds)
inputs = {{n: f.rows(named=True) for n, f in frames.items()}}
for output in outputs:
    uri = datasets.partition_uri(output, ds) + "*.parquet"
    frame = pl.read_parquet(uri, storage_options=settings.load().storage_options)
    assert_output_matches(frame, output, inputs)
    print(output, frame.height)
"""


@pytest.fixture(scope="module")
def phases() -> Iterator[dict[str, float]]:
    """Wall time per phase, shown at the end of the session (conftest.py), passed or not."""
    recorded: dict[str, float] = {}
    yield recorded
    # The last test's teardown report carries them, from an xdist worker too.
    if _current_test:
        _current_test[-1].user_properties.append((PHASES_PROPERTY, recorded))


_current_test: list[pytest.Item] = []


@pytest.fixture(autouse=True)
def _follow_the_current_test(request) -> None:
    _current_test[:] = [request.node]


@contextlib.contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        phases[name] = time.monotonic() - started


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


@pytest.fixture(scope="module")
def project(cookies_session, phases) -> Path:
    """A fresh default bake with its own environment, made as `make install` makes it."""
    with timed(phases, "bake"):
        path = bake_ok(cookies_session)
    with timed(phases, "project environment: uv sync"):
        sync_environment(path)
    with timed(phases, "project environment: OpenLineage provider"):
        install_openlineage(path)
    return path


def install_openlineage(project: Path) -> None:
    python = project / ".venv" / "bin" / "python"
    command = ["uv", "pip", "install", "--quiet", "--python", str(python), OPENLINEAGE_PROVIDER]
    ok(subprocess.run(command, env=clean_base_env(), capture_output=True, text=True, timeout=600))


@pytest.fixture(scope="module")
def lineage_events(tmp_path_factory) -> Path:
    """Where every Airflow process of the deployment writes its OpenLineage events: one file
    per event (the file transport without ``append``), so concurrent tasks never interleave."""
    return tmp_path_factory.mktemp("openlineage")


@pytest.fixture(scope="module")
def deployment(project: Path, phases, lineage_events: Path) -> Iterator[Deployment]:
    # defer_after_s 0: every query task defers (the tests below check it) however short.
    settings = {"retry_delay_s": RETRY_DELAY_S, "defer_after_s": "0"}
    transport = {"type": "file", "log_file_path": str(lineage_events / "event")}
    lineage = {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": LINEAGE_NAMESPACE,
    }
    with Deployment.up(project, settings=settings, extra_env=lineage) as deployed:
        try:
            with deployed.phase("sample data"):
                write_sample_data(deployed, deployed.env)
            with deployed.phase("DAG processor: every DAG parsed"):
                deployed.wait_for_dags({Path(name).stem for name in EXAMPLE_DAGS})
            yield deployed
        finally:
            phases.update(deployed.phases)
    phases.update(deployed.phases)
    still_running = [p.pid for p in deployed.processes if p.is_running()]
    assert not still_running, f"processes left running: {still_running}"
    assert not deployed.workdir.exists()
    assert deployed.database.stopped is not None


def write_sample_data(deployment: Deployment, env: dict[str, str]) -> None:
    package = package_of(deployment.project)
    ok(python(deployment, ["-m", f"{package}.dev", "sample-data", "--rows", str(ROWS)], env))


def python(deployment: Deployment, args: list[str], env: dict[str, str]):
    """The project's interpreter, with its dags/ and tests/ importable."""
    project = deployment.project
    return subprocess.run(
        [project / ".venv" / "bin" / "python", *args],
        cwd=project,
        env={**env, "PYTHONPATH": f"{project / 'dags'}:{project / 'tests'}"},
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )


def check_outputs(deployment: Deployment, dag_id: str, ds: str, env: dict[str, str]) -> str:
    script = CHECK_OUTPUTS.format(package=package_of(deployment.project))
    return ok(python(deployment, ["-c", script, ds, str(ROWS), *OUTPUTS[dag_id]], env))


def failure_details(deployment: Deployment, dag_id: str, run_id: str) -> str:
    """Task states and the log of every failed try, for assertion messages."""
    lines = [deployment.describe(dag_id, run_id)]
    for task_id, ti in deployment.api.task_instances(dag_id, run_id).items():
        if ti["state"] in ("failed", "up_for_retry"):
            log = deployment.api.task_log(dag_id, run_id, task_id, ti["try_number"])
            lines.append(f"--- {task_id} try {ti['try_number']}:\n{log[-3000:]}")
    return "\n".join(lines)


def deferred_tasks(deployment: Deployment, dag_id: str, run_id: str) -> set[str]:
    """The tasks that deferred in a run, from Airflow's event log."""
    events = deployment.api.event_logs(dag_id, run_id)
    return {event["task_id"] for event in events if event["event"] == "deferred"}


def test_every_dag_file_imports_without_errors(deployment: Deployment) -> None:
    assert deployment.api.import_errors() == []
    assert {Path(name).stem for name in EXAMPLE_DAGS} <= deployment.api.dag_ids()


def test_the_provider_and_its_connection_form_are_served(deployment: Deployment) -> None:
    """The api-server knows the provider, installed from the project's lock, and offers its
    connection type with the fields its provider info declares."""
    assert deployment.api.providers()["airflow-provider-polars-cloud"]
    [form] = [
        t for t in deployment.api.connection_types() if t["connection_type"] == "polars_cloud"
    ]
    assert form["hook_name"] == "Polars Cloud"
    # The UI stores them in the extra under these names, the keys the hook reads.
    assert set(form["extra_fields"]) == {"workspace", "backend", "local_root"}
    assert form["standard_fields"]["login"]["title"] == "Client ID"
    assert form["standard_fields"]["host"]["hidden"] is True


@pytest.fixture(scope="module")
def deferred_runs(deployment: Deployment) -> dict[str, str]:
    """The run id of each pipeline run for DS with every query task deferrable (Airflow's own
    switch for every task), side by side; the other tests here run their queries blocking.
    Its outputs are checked below, and the multistage run's OpenLineage events."""
    deployment.use_task_env({"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"})
    runs = {}
    with deployment.phase("pipelines, deferred: trigger to success (2 runs side by side)"):
        for dag_id in ("complete_pipeline", "multistage_pipeline"):
            deployment.api.unpause(dag_id)
            runs[dag_id] = deployment.api.trigger(dag_id, DS)
        for dag_id, run_id in runs.items():
            finished = deployment.wait_for_run(dag_id, run_id)
            assert finished["state"] == "success", failure_details(deployment, dag_id, run_id)
    return runs


def test_the_pipelines_succeed_deferred_and_their_outputs_are_correct(
    deployment: Deployment, deferred_runs: dict[str, str]
) -> None:
    """Every query task defers, so the queries are waited for by the real triggerer."""
    for dag_id, run_id in deferred_runs.items():
        tis = deployment.api.task_instances(dag_id, run_id)
        assert {ti["state"] for ti in tis.values()} == {"success"}
        assert {ti["try_number"] for ti in tis.values()} == {1}
        assert deferred_tasks(deployment, dag_id, run_id) == QUERY_TASKS[dag_id]
    with deployment.phase("pipelines: outputs checked"):
        for dag_id in deferred_runs:
            checked = check_outputs(deployment, dag_id, DS, deployment.env)
            assert checked.strip(), dag_id
    curated = Path(deployment.data_root) / "curated"
    assert sorted(p.name for p in (curated / "daily_report").iterdir()) == [f"ds={DS}"]
    assert [p.name for p in (curated / "daily_report" / f"ds={DS}").iterdir()] == ["part-0.parquet"]


def test_a_corrupt_input_fails_at_once_runs_the_teardown_and_leaves_nothing(
    deployment: Deployment,
) -> None:
    dag_id, failing, ds = "complete_pipeline", "transform_sales", "2026-01-02"
    sales = Path(deployment.data_root) / "raw" / "sales"
    valid = (sales / "part-0.parquet").read_bytes()
    corrupt = sales / "part-1.parquet"  # a file cut short in transfer: no valid footer
    corrupt.write_bytes(valid[: len(valid) // 2] + valid[-8:])
    try:
        deployment.use_task_env({})
        deployment.api.unpause(dag_id)
        started = time.monotonic()
        run_id = deployment.api.trigger(dag_id, ds)
        ti = deployment.wait_for_task(dag_id, run_id, failing, {"failed", "up_for_retry"})
        # The deterministic property: a corrupt file is not retried.
        assert (ti["state"], ti["try_number"]) == ("failed", 1), (
            "a corrupt input must fail its task at once, without a retry: "
            + failure_details(deployment, dag_id, run_id)
        )
        finished = deployment.wait_for_run(dag_id, run_id)
        deployment.phases["corrupt input: trigger to FAILED"] = time.monotonic() - started
    finally:
        corrupt.unlink()
    assert finished["state"] == "failed"
    tis = deployment.api.task_instances(dag_id, run_id)
    assert tis["shutdown_cluster"]["state"] == "success", "the teardown ran"
    assert tis["generate_report"]["state"] == "upstream_failed"
    log = deployment.api.task_log(dag_id, run_id, failing, 1)
    assert "sales" in log and str(sales) in log, "the error names the dataset and its URI"
    leftovers = [
        str(path)
        for path in (Path(deployment.data_root) / "curated").rglob("*")
        if f"ds={ds}" in path.name
    ]
    assert leftovers == [], "nothing of the failed run's output partition is left"


def test_workers_left_by_a_scheduler_killed_hard_are_stopped_by_pid(
    deployment: Deployment,
) -> None:
    """Airflow's idle LocalExecutor workers ignore SIGTERM (docs/deploy.md): the scheduler's
    own SIGTERM stops them, but a scheduler that dies otherwise leaves them behind."""
    deployment.use_task_env(deployment.task_env)  # a scheduler is running
    scheduler = psutil.Process(deployment.services["scheduler"].popen.pid)
    workers = [p for p in scheduler.children() if "LocalExecutor" in p.cmdline()[0]]
    assert workers, "the LocalExecutor forks its workers when the scheduler starts"

    stopped = deployment.stop_service("scheduler", signal.SIGKILL)

    # Sent SIGTERM once orphaned, they outlived it and were killed by PID.
    assert {p.pid for p in workers} <= {p.pid for p in stopped.killed}
    assert not [p.pid for p in stopped.processes if p.is_running()]


def test_a_transient_error_on_the_first_try_succeeds_on_a_retry(deployment: Deployment) -> None:
    """Data on S3 whose endpoint does not answer yet: the first try fails with a connection
    error, the task waits for its retry, the store comes up, the retry succeeds."""
    dag_id, task_id = "single_query_awaited", "count_orders_by_status"
    store = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    store.start()
    late, reserved = None, socket.socket()
    try:
        host, port = store.get_host_and_port()
        boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            region_name=AWS["AWS_REGION"],
            aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
        ).create_bucket(Bucket=BUCKET)
        s3 = {
            **AWS,
            deployment.names["data_root"]: f"s3://{BUCKET}/warehouse",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        }
        write_sample_data(deployment, {**deployment.env, **s3})
        # The tasks get an endpoint where nothing listens yet: a port held by a socket that
        # is bound but not listening, so connections are refused and no one else takes it.
        reserved.bind(("127.0.0.1", 0))
        unreachable = reserved.getsockname()[1]
        s3["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{unreachable}"
        with deployment.phase("transient: restart the scheduler on an S3 data root"):
            deployment.use_task_env(s3)

        deployment.api.unpause(dag_id)
        with deployment.phase("transient: trigger to up_for_retry"):
            run_id = deployment.api.trigger(dag_id, DS)
            ti = deployment.wait_for_task(dag_id, run_id, task_id, {"up_for_retry", "failed"})
        assert ti["state"] == "up_for_retry", (
            "an unreachable store is transient and must be retried: "
            + failure_details(deployment, dag_id, run_id)
        )
        # Moto keeps its buckets in this process: a second server on the awaited port
        # serves the same data.
        reserved.close()
        late = ThreadedMotoServer(ip_address="127.0.0.1", port=unreachable, verbose=False)
        late.start()
        with deployment.phase("transient: store up to success"):
            try:
                finished = deployment.wait_for_run(dag_id, run_id)
            except DeploymentError as late_retry:
                delay = f"{deployment.names['retry_delay_s']}={RETRY_DELAY_S}"
                raise AssertionError(
                    f"no retry within 120 s, though the first retry's delay is set to {delay} "
                    "seconds (settings.retry_delay_s, used by dag_defaults)"
                ) from late_retry
        assert finished["state"] == "success", failure_details(deployment, dag_id, run_id)
        ti = deployment.api.task_instances(dag_id, run_id)[task_id]
        assert ti["try_number"] >= 2, "the success came from a retry"
        check_outputs(deployment, dag_id, DS, {**deployment.env, **s3})
    finally:
        reserved.close()
        if late is not None:
            late.stop()
        store.stop()


def test_the_deployment_answers_with_a_bare_postgresql_url(deployment: Deployment) -> None:
    """Users type postgresql://... (SQLAlchemy 2.1 maps it to psycopg 3): same database."""
    url = deployment.database.url("postgresql")
    env = {**deployment.env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}
    result = subprocess.run(
        [deployment.airflow, "db", "check"], env=env, capture_output=True, text=True, timeout=HANG_S
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert deployment.database.password not in result.stdout + result.stderr


# --- OpenLineage (issue 19): the listener of the OpenLineage provider, in the real services --


def lineage_events_of(events_dir: Path, dag_id: str, task_id: str) -> list[dict]:
    """The task's OpenLineage events (every try of every run), in the order they were
    written, each with its ``written`` moment (not ``eventTime``: a START's is the try's
    start date, the same for the START of a resumption)."""
    found = []
    for path in sorted(events_dir.glob("event-*.json"), key=lambda p: (p.stat().st_mtime_ns, p)):
        event = json.loads(path.read_text())
        if event["job"]["name"] == f"{dag_id}.{task_id}":
            event["written"] = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            found.append(event)
    return found


def wait_for_lineage(
    deployment: Deployment, events_dir: Path, dag_id: str, run_id: str, task_id: str
) -> list[dict]:
    """The task's events in the run, once its COMPLETE is written: the task runner reports
    success before its listeners run, so a finished run may not have it yet."""

    def completed() -> list[dict]:
        try:
            events = of_run(lineage_events_of(events_dir, dag_id, task_id), run_id)
        except json.JSONDecodeError:  # an event being written: read again
            return []
        return events if any(e["eventType"] == "COMPLETE" for e in events) else []

    return deployment.wait(completed, 120, f"the OpenLineage COMPLETE of {dag_id}.{task_id}")


def of_run(events: list[dict], run_id: str) -> list[dict]:
    """The events of one Airflow run (the listener names it in the run's airflow facet)."""
    return [e for e in events if e["run"]["facets"]["airflow"]["dagRun"]["run_id"] == run_id]


def xcom(deployment: Deployment, dag_id: str, run_id: str, task_id: str, key: str):
    path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
    return deployment.api.request("GET", path)["value"]


def datasets_of(event: dict, key: str) -> list[tuple[str, str]]:
    return [(dataset["namespace"], dataset["name"]) for dataset in event.get(key, [])]


def moments(deployment: Deployment, dag_id: str, run_id: str, task_id: str, what: str):
    """When Airflow's event log recorded ``what`` (``deferred``...) for the task."""
    events = deployment.api.event_logs(dag_id, run_id)
    found = [e["when"] for e in events if e["task_id"] == task_id and e["event"] == what]
    parsed = [datetime.fromisoformat(when) for when in found]
    return sorted(moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in parsed)


def set_trigger_timeout_passed(deployment: Deployment, dag_id: str, run_id: str, task_id: str):
    """The deferred task's trigger timeout, set in the past: the scheduler fails the try as
    Airflow does when a deferral outlasts its ``timeout`` (``check_trigger_timeouts``). A
    timeout does not call the trigger's ``on_kill``: the query is left as it is, as when a
    worker dies. No public API sets it; the metadata database is this deployment's own."""
    database = deployment.database
    sql = (
        "UPDATE task_instance SET trigger_timeout = now() - interval '1 minute' "
        f"WHERE dag_id = '{dag_id}' AND run_id = '{run_id}' AND task_id = '{task_id}' "
        "AND state = 'deferred' RETURNING task_id"
    )
    command = [
        str(postgres_bindir() / "psql"),
        "-h", "127.0.0.1", "-p", str(database.port), "-U", database.user, "-d", database.database,
        "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql,
    ]  # fmt: skip
    env = {**clean_base_env(), "PGPASSWORD": database.password}
    updated = ok(subprocess.run(command, env=env, capture_output=True, text=True, timeout=60))
    assert updated.split() == [task_id], updated


def test_a_retry_that_reattaches_emits_one_complete_with_the_reattached_query(
    deployment: Deployment, lineage_events: Path
) -> None:
    """Try 1 of a multistage run's first stage defers on its query and times out while
    deferred (its query finished meanwhile); try 2 reattaches to that query instead of
    submitting another, and completes.

    The trigger of try 1 waits ``resume_settle_s`` (600 s, set for that deferral only: the
    scheduler is restarted with the default while the task is deferred) before firing, so
    the timeout, not the trigger, ends try 1 whatever the machine's speed. The events are
    asserted exactly as the OpenLineage listener sends them (see ``EXPECTED_REATTACH``)."""
    dag_id, task_id, ds = "multistage_pipeline", "stage_1_active_orders", "2026-01-06"
    deferrable = {"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"}
    deployment.use_task_env({**deferrable, "AIRFLOW__POLARS_CLOUD__RESUME_SETTLE_S": "600"})
    deployment.api.unpause(dag_id)
    with deployment.phase("lineage: reattach, trigger to try 1's query done"):
        run_id = deployment.api.trigger(dag_id, ds)
        deployment.wait_for_task(dag_id, run_id, task_id, {"deferred"})
        [query] = xcom(deployment, dag_id, run_id, task_id, "polars_queries")
        result = Path(query["run_dir"]) / "result.json"
        deployment.wait(result.is_file, 180, f"query {query['query_id']} to finish")
    assert json.loads(result.read_text())["status"] == "SUCCESS"
    with deployment.phase("lineage: reattach, scheduler back to the default settle time"):
        deployment.use_task_env(deferrable)  # nothing of the run is running: it is deferred
    set_trigger_timeout_passed(deployment, dag_id, run_id, task_id)
    with deployment.phase("lineage: reattach, timeout to success on try 2"):
        finished = deployment.wait_for_run(dag_id, run_id)
    assert finished["state"] == "success", failure_details(deployment, dag_id, run_id)
    ti = deployment.api.task_instances(dag_id, run_id)[task_id]
    assert ti["try_number"] == 2, "try 1 failed on its trigger timeout"
    # Each entry names the try that reported it; the query itself must be try 1's.
    reported = xcom(deployment, dag_id, run_id, task_id, "polars_queries")
    assert [{**entry, "try_number": 1} for entry in reported] == [query], (
        "try 2 reattached to try 1's query: nothing submitted again"
    )
    assert reported[0]["try_number"] == 2
    check_outputs(deployment, dag_id, ds, deployment.env)

    events = wait_for_lineage(deployment, lineage_events, dag_id, run_id, task_id)
    tries: dict[str, list[str]] = {}
    for event in events:
        tries.setdefault(event["run"]["runId"], []).append(event["eventType"])
    assert list(tries.values()) == EXPECTED_REATTACH, tries
    [complete] = [event for event in events if event["eventType"] == "COMPLETE"]
    assert complete["run"]["runId"] == list(tries)[-1], "the COMPLETE is try 2's"
    facets = complete["run"]["facets"]
    assert facets["externalQuery"]["externalQueryId"] == query["query_id"]
    assert [q["query_id"] for q in facets["polarsCloudQueries"]["queries"]] == [query["query_id"]]
    assert datasets_of(complete, "inputs") == [("file", f"{deployment.data_root}/raw/orders")]


EXPECTED_REATTACH = [["START", "START", "FAIL"], ["START", "COMPLETE"]]
"""Per try, as the OpenLineage listener sends them: try 1 emits START (it runs), START again
(Airflow runs the timed-out try once more to fail it, which the listener sees as a
resumption) and FAIL; try 2 emits START and the one COMPLETE."""


def test_a_deferred_query_task_reports_start_before_its_deferral_and_complete_after_resume(
    deployment: Deployment, lineage_events: Path, deferred_runs: dict[str, str]
) -> None:
    """Each deferred query task of a multistage run: a START before it defers, one COMPLETE
    after it resumes, carrying what it read and wrote and its query's id.

    The OpenLineage listener (apache-airflow-providers-openlineage 2.20.3) emits a START
    each time a task instance starts running, and a resumption after a deferral is one
    (``on_task_instance_running``; only sensors in reschedule mode are skipped): each of these
    tasks defers once, so it emits START, START (the resume), COMPLETE, all with the try's one
    OpenLineage run id. The START events carry no datasets: the listener asks for them
    before the body runs."""
    dag_id, ds = "multistage_pipeline", DS
    run_id = deferred_runs[dag_id]  # succeeded (the fixture asserts it)

    data_root = deployment.data_root
    stage_1_results = xcom(deployment, dag_id, run_id, "stage_1_active_orders", "return_value")
    assert stage_1_results and all(Path(uri).is_file() for uri in stage_1_results)
    summary = f"{data_root}/curated/category_summary/ds={ds}"
    assert list(Path(summary).glob("*.parquet")), "stage 2 really wrote its partition"
    expected = {  # (inputs, outputs) as the URIs the tasks really read and wrote
        "stage_1_active_orders": ([("file", f"{data_root}/raw/orders")], []),
        "stage_2_category_summary": (
            [("file", uri) for uri in stage_1_results],
            [("file", summary)],
        ),
    }
    for task_id, (inputs, outputs) in expected.items():
        events = wait_for_lineage(deployment, lineage_events, dag_id, run_id, task_id)
        kinds = [event["eventType"] for event in events]
        assert kinds == ["START", "START", "COMPLETE"], (task_id, kinds)
        assert len({event["run"]["runId"] for event in events}) == 1, task_id
        [deferred] = moments(deployment, dag_id, run_id, task_id, "deferred")
        first, resumed, complete = events
        assert first["written"] < deferred < resumed["written"] <= complete["written"], task_id
        assert datasets_of(complete, "inputs") == inputs, task_id
        assert datasets_of(complete, "outputs") == outputs, task_id
        [query] = xcom(deployment, dag_id, run_id, task_id, "polars_queries")
        facets = complete["run"]["facets"]
        assert facets["externalQuery"]["externalQueryId"] == query["query_id"]
        assert facets["externalQuery"]["source"] == "polars-local"
        assert [q["query_id"] for q in facets["polarsCloudQueries"]["queries"]] == [
            query["query_id"]
        ]
        assert complete["job"]["namespace"] == LINEAGE_NAMESPACE
