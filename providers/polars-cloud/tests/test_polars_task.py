"""@polars_task under real Airflow (dag.test(), which runs triggers inline): deferral, one query
per task, reattach on retry, the query timeout while deferred, XCom, the link, asset events.

Polars Cloud is the autospec fake (polars_cloud_provider.testing); the local backend runs real
Polars, deferred queries in child processes. The DAGs are built here, small and to the point.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import create_autospec

import polars as pl
import polars_cloud as pc
import pytest
from airflow.sdk import DAG, Asset
from conftest import DAGS_FOLDER, S3_BUCKET, s3_keys
from polars_cloud_provider import compute, settings
from polars_cloud_provider.compute import execution
from polars_cloud_provider.decorators.polars_task import polars_task
from polars_cloud_provider.engines import local_runner

DS = "2026-01-01"
TARGET = "s3://bucket/curated/sums/ds=2026-01-01/"
NUMBERS = pl.LazyFrame({"x": [1, 2, 3]})
MANIFEST = compute.Manifest("tests")
SPECS = compute.Specs(cpus=1, memory_gb=1)
DATA_ROOT = "POLARS_TASK_TEST_DATA_ROOT"
"""The environment variable telling the task bodies where the local data root is."""


def partition(name: str, ds: str | None) -> str:
    """The directory the output ``name`` writes for the day ``ds`` under the data root."""
    return f"{os.environ[DATA_ROOT]}/curated/{name}/ds={ds}/"


MAX_DEFERRALS = 10


@pytest.fixture(autouse=True)
def defer_at_once(monkeypatch) -> None:
    """The deferral tests defer a query still running at the first look (no first wait on
    the worker); the tests of the first wait set their own."""
    monkeypatch.setenv(settings.env_var("defer_after_s"), "0")


@pytest.fixture(autouse=True)
def deferrals(monkeypatch) -> list[str]:
    """The query id of each deferral. A task that defers over and over (a resumed body that
    cannot find its query again submits it anew) fails its test instead of hanging it."""
    seen: list[str] = []
    defer = execution.TaskRun._defer

    def counted(task_run: execution.TaskRun, record: execution.Record) -> None:
        seen.append(record.query_id)
        if len(seen) > MAX_DEFERRALS:
            raise AssertionError(f"the task deferred {len(seen)} times: {seen}")
        defer(task_run, record)

    monkeypatch.setattr(execution.TaskRun, "_defer", counted)
    return seen


class Failures(list):
    """An on_failure_callback keeping the exception each failed try ended with."""

    def __call__(self, context) -> None:
        self.append(context["exception"])


def build(dag_id: str, body, *, retries: int = 0, **task_kwargs) -> tuple[DAG, Failures]:
    failures = Failures()
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        polars_task(
            task_id="work",
            retries=retries,
            retry_delay=timedelta(0),
            on_failure_callback=[failures],
            on_retry_callback=[failures],
            **task_kwargs,
        )(body)()
    return dag, failures


def run(dag: DAG, ds: str = DS):
    """Register the DAG (it lives in no file) and run it with dag.test()."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(DAGS_FOLDER), collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    dag_run = dag.test(logical_date=datetime.fromisoformat(ds).replace(tzinfo=UTC))
    ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "work")
    return dag_run, ti


def xcom(ti, key: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(
                key=key, run_id=ti.run_id, dag_ids=ti.dag_id, task_ids=ti.task_id
            ).with_only_columns(XComModel.value)
        ).first()
    return None if row is None else XComModel.deserialize_value(row)


@pytest.fixture
def local_data(local_connection, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    monkeypatch.setenv(DATA_ROOT, str(root))
    return root


def sum_of_numbers(ds: str | None = None) -> str:
    return compute.sink(NUMBERS.select(pl.col("x").sum()), partition("sums", ds), on=MANIFEST)


class LostAfterTheWrite(ConnectionError):
    """A worker lost once the task ran whole: Airflow retries it."""


def test_a_retry_after_the_write_rewrites_its_partition_and_nothing_else(
    airflow_db, local_data
) -> None:
    """Try 1 sinks, then its worker is lost (in post_execute); the input changes before the
    retry, whose sink must replace what try 1 wrote, leaving the day before as it was."""
    source = local_data / "raw/numbers/part-0.parquet"
    source.parent.mkdir(parents=True)
    pl.DataFrame({"x": [1, 2, 3]}).write_parquet(source)
    day_before = local_data / "curated/sums/ds=2025-12-31/part-0.parquet"
    day_before.parent.mkdir(parents=True)
    pl.DataFrame({"x": [-1]}).write_parquet(day_before)
    left_alone = day_before.read_bytes(), day_before.stat().st_mtime_ns

    def total_of_the_input(ds: str | None = None) -> str:
        total = pl.scan_parquet(source).select(pl.col("x").sum())
        return compute.sink(total, partition("sums", ds), on=MANIFEST)

    def lost_on_the_first_try(context, *_) -> None:
        if context["ti"].try_number == 1:
            raise LostAfterTheWrite("the worker was lost after the task ran")

    def change_the_input(context) -> None:
        pl.DataFrame({"x": [10, 20]}).write_parquet(source)

    dag, failures = build("retry_after_write", total_of_the_input, retries=1)
    dag.get_task("work").post_execute = lost_on_the_first_try
    dag.get_task("work").on_retry_callback = [failures, change_the_input]
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    assert ti.try_number == 2 and isinstance(failures[0], LostAfterTheWrite)
    curated = local_data / "curated"
    written = sorted(p.relative_to(local_data) for p in curated.rglob("*") if p.is_file())
    assert [str(p) for p in written] == [
        "curated/sums/ds=2025-12-31/part-0.parquet",
        "curated/sums/ds=2026-01-01/part-0.parquet",
    ]
    assert pl.read_parquet(local_data / "curated/sums/ds=2026-01-01/*.parquet")["x"].to_list() == [
        30
    ]
    assert (day_before.read_bytes(), day_before.stat().st_mtime_ns) == left_alone


def test_a_rerun_of_a_day_on_s3_runs_its_query_again_and_replaces_the_partition(
    airflow_db, local_connection, s3_bucket, monkeypatch
) -> None:
    """The day runs a second time after its input changed (dag.test() makes a new DAG run for
    the same logical date, as a backfill or a trigger of that date does): the query runs
    again, and its partition on S3 holds the new result alone; the day before is left as it
    was. (A cleared task's record is tested by
    test_a_cleared_task_cancels_its_earlier_queries_and_reuses_none.)"""
    monkeypatch.setenv(DATA_ROOT, f"s3://{S3_BUCKET}/warehouse")
    source = f"s3://{S3_BUCKET}/warehouse/raw/numbers/part-0.parquet"
    pl.DataFrame({"x": [1, 2, 3]}).write_parquet(source)
    pl.DataFrame({"x": [-1]}).write_parquet(partition("sums", "2025-12-31") + "part-0.parquet")

    def total_of_the_input(ds: str | None = None) -> str:
        total = pl.scan_parquet(source).select(pl.col("x").sum())
        return compute.sink(total, partition("sums", ds), on=MANIFEST)

    dag, failures = build("rerun_on_s3", total_of_the_input)
    first, _ = run(dag)
    pl.DataFrame({"x": [10, 20]}).write_parquet(source)
    again, _ = run(dag)

    assert (first.state, again.state) == ("success", "success"), failures
    assert s3_keys(s3_bucket, "warehouse/curated/") == [
        "warehouse/curated/sums/ds=2025-12-31/part-0.parquet",
        "warehouse/curated/sums/ds=2026-01-01/part-0.parquet",
    ]
    assert pl.read_parquet(partition("sums", DS) + "*.parquet")["x"].to_list() == [30]
    assert pl.read_parquet(partition("sums", "2025-12-31") + "*.parquet")["x"].to_list() == [-1]


def test_a_deferred_pipeline_passes_result_locations_through_xcom(
    airflow_db, local_data, deferrals
) -> None:
    """The multistage pattern, deferred: one task executes, the next sinks what it left."""

    def numbers() -> list[str]:
        return compute.execute(NUMBERS, on=MANIFEST)

    def total_of(locations: list[str], ds: str | None = None) -> str:
        total = compute.scan_parquet(locations).select(pl.col("x").sum())
        return compute.sink(total, partition("sums", ds), on=MANIFEST)

    with DAG(
        "deferred_pipeline", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)
    ) as dag:
        locations = polars_task(task_id="numbers", deferrable=True)(numbers)()
        polars_task(task_id="work", deferrable=True)(total_of)(locations)
    dag_run, ti = run(dag)

    assert dag_run.state == "success"
    assert pl.read_parquet(local_data / "curated/sums/ds=2026-01-01/*.parquet")["x"].to_list() == [
        6
    ]
    first = next(t for t in dag_run.get_task_instances() if t.task_id == "numbers")
    queries = xcom(first, execution.QUERY_KEY) + xcom(ti, execution.QUERY_KEY)
    assert [q["kind"] for q in queries] == ["execute", "sink"]
    assert sorted(deferrals) == sorted(q["query_id"] for q in queries)  # one deferral each
    for query in queries:  # each ran in a child process, which the trigger polled
        assert query["run_dir"], query
        result = json.loads((Path(query["run_dir"]) / local_runner.RESULT).read_text())
        assert result["status"] == "SUCCESS"


def test_a_deferred_execute_leaves_its_results_under_the_connections_local_root(
    airflow_db, local_connection, polars_cloud_connection, tmp_path, deferrals
) -> None:
    """The connection's ``local_root`` overrides the setting in the child process too, and the
    child files its results under the task's folder, as an in-process query does."""
    connection_root = tmp_path / "connection-root"
    polars_cloud_connection(extra={"backend": "local", "local_root": str(connection_root)})

    def numbers() -> list[str]:
        return compute.execute(NUMBERS, on=MANIFEST)

    dag, failures = build("deferred_execute_root", numbers, deferrable=True)
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    (query,) = xcom(ti, execution.QUERY_KEY)
    assert deferrals == [query["query_id"]]  # it ran in a child process
    locations = json.loads((Path(query["run_dir"]) / local_runner.RESULT).read_text())
    assert locations["locations"] and locations["locations"] == xcom(ti, "return_value")
    task_folder = connection_root / dag.dag_id / re.sub(r"[^A-Za-z0-9._=-]", "_", dag_run.run_id)
    for location in locations["locations"]:
        assert Path(location).is_relative_to(task_folder / ti.task_id), location
        assert pl.read_parquet(location)["x"].to_list() == [1, 2, 3]
    assert not local_connection.exists()  # nothing under the setting's root


def test_queries_inside_immediate_shutdown_are_never_deferred(airflow_db, local_data) -> None:
    def inside_the_block(ds: str | None = None) -> str:
        with compute.immediate_shutdown(SPECS) as cluster:
            return compute.sink(NUMBERS, partition("numbers", ds), on=cluster)

    dag, failures = build("immediate_not_deferred", inside_the_block, deferrable=True)
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    [query] = xcom(ti, execution.QUERY_KEY)
    assert query["run_dir"] is None  # awaited in this process


def test_a_deferred_query_fails_the_task_exactly_as_a_blocking_one(airflow_db, local_data) -> None:
    def bad_cast(ds: str | None = None) -> str:
        broken = pl.LazyFrame({"x": ["a"]}).select(pl.col("x").cast(pl.Int64, strict=True))
        return compute.sink(broken, partition("broken", ds), on=MANIFEST)

    messages = {}
    for deferrable in (False, True):
        dag, failures = build(f"bad_cast_{deferrable}", bad_cast, deferrable=deferrable)
        dag_run, _ = run(dag)
        assert dag_run.state == "failed"
        [error] = failures
        assert isinstance(error, compute.QueryFailed)
        messages[deferrable] = str(error).replace(error.query_id, "<id>")
    assert messages[True] == messages[False]
    assert "ended with status FAILED: InvalidOperationError" in messages[True]
    assert not (local_data / f"curated/broken/ds={DS}").exists()  # no partition, either way


def cloud_sink(ds: str | None = None) -> str:
    return compute.sink(NUMBERS, TARGET, on=MANIFEST)


def test_a_deferred_cloud_query_resumes_with_its_link_labels_and_ids(
    airflow_db, fake_cloud, cloud_connection, deferrals
) -> None:
    from uuid import UUID

    # INPROGRESS twice, then SUCCESS for ever (running(polls=2) runs out of answers, and a
    # StopIteration inside the trigger hangs dag.test() instead of failing it).
    polls = iter([pc.QueryStatus.INPROGRESS] * 2)
    fake_cloud.query.get_status.side_effect = lambda: next(polls, pc.QueryStatus.SUCCESS)
    dag, failures = build("deferred_cloud", cloud_sink, deferrable=True)
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    assert deferrals == [fake_cloud.query_id]
    # The trigger found the query again from its ids (in the triggerer: another process), in
    # the mode it was submitted in: direct, through its cluster (engines/cloud.py).
    fake_cloud.DirectQuery.assert_called_with(
        UUID(fake_cloud.query_id),
        fake_cloud.context._get_direct_client.return_value,
        fake_cloud.context,
    )
    fake_cloud.ProxyQuery.assert_not_called()
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)
    link = (
        f"https://cloud.pola.rs/portal/{fake_cloud.workspace_id}/{fake_cloud.compute_id}"
        f"/queries/{fake_cloud.query_id}"
    )
    assert xcom(ti, execution.LINK_XCOM_KEY) == link
    [query] = xcom(ti, execution.QUERY_KEY)
    assert query | {"link": link} == query and query["workspace_id"] == fake_cloud.workspace_id
    assert query["compute_id"] == fake_cloud.compute_id
    [labels] = fake_cloud.LazyFrameRemote.return_value.labels.call_args.args
    assert labels[:3] == ["airflow", "dag:deferred_cloud", "task:work"]


def test_a_deferred_query_past_the_query_timeout_is_cancelled(
    airflow_db, fake_cloud, cloud_connection, monkeypatch
) -> None:
    monkeypatch.setenv(settings.env_var("query_timeout_s"), "0.3")
    fake_cloud.running()
    dag, failures = build("deferred_timeout", cloud_sink, deferrable=True)
    dag_run, _ = run(dag)

    assert dag_run.state == "failed"
    [error] = failures
    assert isinstance(error, compute.QueryTimedOut) and fake_cloud.query_id in str(error)
    fake_cloud.query.cancel.assert_called_once_with()


def test_a_retry_waits_for_the_query_an_earlier_try_left_running(
    airflow_db, fake_cloud, cloud_connection
) -> None:
    """Try 1 loses its connection while waiting and cannot cancel (the worker could as well
    have been killed): try 2 finds the query still running and waits for it."""
    fake_cloud.query.get_status.side_effect = [
        ConnectionError("connection reset while polling"),  # try 1
        pc.QueryStatus.INPROGRESS,  # try 2, asking the recorded query
        pc.QueryStatus.SUCCESS,
    ]
    fake_cloud.query.cancel.side_effect = RuntimeError("cancel not answered")
    dag, failures = build("reattach_running", cloud_sink, retries=1)
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    assert ti.try_number == 2 and isinstance(failures[0], ConnectionError)
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)  # not submitted twice


def test_a_retry_reuses_a_query_that_succeeded(airflow_db, fake_cloud, cloud_connection) -> None:
    """The body fails after its query succeeded: the retry reuses the query's result."""

    def sink_then_fail_once(ti=None) -> str:
        query_id = compute.sink(NUMBERS, TARGET, on=MANIFEST)
        if ti.try_number == 1:
            raise LostAfterTheWrite("the worker was lost after the query")
        return query_id

    dag, failures = build("reuse_success", sink_then_fail_once, retries=1)
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    assert ti.try_number == 2 and isinstance(failures[0], LostAfterTheWrite)
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)


def test_a_submitted_query_is_recorded_done_and_a_retry_does_not_submit_it_again(
    airflow_db, fake_cloud, cloud_connection
) -> None:
    """Fire-and-forget: the task never waits for it, even deferrable, and a retry (the body
    failed after the submission) finds it recorded instead of submitting a second copy."""

    def submit_then_fail_once(ti=None) -> str:
        query_id = compute.submit(NUMBERS, TARGET, on=MANIFEST)
        if ti.try_number == 1:
            raise LostAfterTheWrite("the worker was lost after the submission")
        return query_id

    dag, failures = build("submit_once", submit_then_fail_once, retries=1, deferrable=True)
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    assert ti.try_number == 2 and isinstance(failures[0], LostAfterTheWrite)
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)
    fake_cloud.query.await_result.assert_not_called()
    [query] = xcom(ti, execution.QUERY_KEY)  # listed by the retry too
    assert (query["kind"], query["query_id"], query["try_number"]) == (
        "submit",
        fake_cloud.query_id,
        2,
    )


def test_a_second_query_in_one_task_fails_it_at_once_without_retries(
    airflow_db, fake_cloud, cloud_connection
) -> None:
    """One query per task is the contract. The first query was awaited (sink and execute
    wait; submit is fire-and-forget by design), so nothing runs on unwatched."""
    from polars_cloud_provider.compute.permanent import PermanentFailure

    def two_queries(ds: str | None = None) -> list[str]:
        compute.sink(NUMBERS, TARGET, on=MANIFEST)
        return compute.execute(NUMBERS, on=MANIFEST)

    dag, failures = build("two_queries", two_queries, retries=2)
    dag_run, ti = run(dag)

    assert dag_run.state == "failed"
    [error] = failures  # no retry
    assert isinstance(error, PermanentFailure) and ti.try_number == 1
    assert "split the body into one task per query" in str(error)
    assert "as the multistage example does" in str(error)
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)
    fake_cloud.plan.execute.assert_not_called()
    fake_cloud.query.cancel.assert_not_called()  # it had finished: nothing to cancel
    [query] = xcom(ti, execution.QUERY_KEY)
    assert (query["kind"], query["query_id"]) == ("sink", fake_cloud.query_id)


def test_a_retry_resubmits_a_query_that_failed(airflow_db, fake_cloud, cloud_connection) -> None:
    failed = create_autospec(pc.QueryResult, instance=True)
    failed.status = pc.QueryStatus.FAILED
    failed.raise_err.side_effect = RuntimeError("worker lost")
    fake_cloud.query.await_result.side_effect = [failed, fake_cloud.result]
    fake_cloud.query.get_status.side_effect = [
        pc.QueryStatus.FAILED,  # try 1's wait
        pc.QueryStatus.FAILED,  # try 2, asking the recorded query
        pc.QueryStatus.SUCCESS,  # try 2's new query
    ]
    dag, failures = build("resubmit_failed", cloud_sink, retries=1)
    dag_run, _ = run(dag)

    assert dag_run.state == "success", failures
    assert fake_cloud.plan.sink_parquet.call_count == 2


def sink_record(fake_cloud, query_id: str | None = None) -> dict:
    """A task's record of its sink on the fake cloud, as a try keeps it in the store."""
    return {
        "kind": "sink",
        "target": TARGET,
        "reference": {
            "backend": "cloud",
            "query_id": query_id or fake_cloud.query_id,
            "workspace_id": fake_cloud.workspace_id,
            "compute_id": fake_cloud.compute_id,
        },
    }


class Store(dict):
    """A task_state_store: Airflow keeps it per task instance, across tries and clears."""

    def set(self, key, value, **_) -> None:
        self[key] = value

    def delete(self, key) -> None:
        self.pop(key, None)


def test_a_cleared_task_cancels_its_earlier_queries_and_reuses_none(
    fake_cloud, cloud_connection
) -> None:
    """A record written before the task was cleared (another series of tries) is not a
    retry's: its running query is cancelled, and the query is submitted afresh."""
    from polars_cloud_provider.hooks.polars_cloud import authenticate

    earlier = fake_cloud.another_query("0197a1b2-0000-7000-8000-0000000000e3")
    earlier.get_status.return_value = pc.QueryStatus.INPROGRESS
    step = sink_record(fake_cloud, "0197a1b2-0000-7000-8000-0000000000e3")
    store = Store({execution.QUERY_KEY: {"series": 1, **step}})
    task_run = execution.TaskRun("d", "t", "r", try_number=4, series=4, store=store)

    with execution.running(task_run):
        assert authenticate(cloud_sink)() == fake_cloud.query_id

    earlier.cancel.assert_called_once_with()
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)
    assert store[execution.QUERY_KEY]["series"] == 4


def released_0_1_0_step(fake_cloud) -> dict:
    """A query as provider 0.1.0 recorded it: one step of a journal."""
    return {**sink_record(fake_cloud), "deadline": None, "done": False, "locations": []}


def test_a_retry_after_an_upgrade_from_0_1_0_waits_for_the_query_its_journal_recorded(
    fake_cloud, cloud_connection
) -> None:
    """A deployment upgraded while a query ran: the retry finds that query in 0.1.0's journal
    and waits for it, rather than submit a second copy beside it."""
    from polars_cloud_provider.hooks.polars_cloud import authenticate

    fake_cloud.running(polls=1)
    journal = {"series": 1, "steps": [released_0_1_0_step(fake_cloud)], "trigger_failed": False}
    store = Store({execution.QUERY_KEY: journal})
    task_run = execution.TaskRun("d", "t", "r", try_number=2, series=1, store=store)

    with execution.running(task_run):
        assert authenticate(cloud_sink)() == fake_cloud.query_id

    fake_cloud.plan.sink_parquet.assert_not_called()
    fake_cloud.query.await_result.assert_called_once()
    assert store[execution.QUERY_KEY]["done"] is True


def test_a_task_resumed_by_a_0_1_0_event_finds_its_query_in_the_journal(fake_cloud) -> None:
    """An event fired before an upgrade (0.1.0: the journal and the step it waited for)."""
    step = released_0_1_0_step(fake_cloud)
    event = {"step": 0, "state": "done", "status": "SUCCESS", "journal": [step]}

    class TI:
        dag_id, task_id, run_id, map_index, try_number, max_tries = "d", "t", "r", -1, 1, 0
        task = type("Task", (), {"retries": 0})()

    task_run = execution.TaskRun.from_context({"ti": TI()}, deferrable=True, event=event)
    assert task_run.record == execution.Record.from_json(step)


@pytest.mark.parametrize(
    ("try_number", "max_tries", "retries", "series"),
    [(1, 2, 2, 1), (3, 2, 2, 1), (4, 5, 2, 4), (5, 5, 2, 4)],
    ids=["first-try", "last-retry", "first-try-after-a-clear", "its-retry"],
)
def test_the_series_of_tries_is_found_as_airflow_finds_it(
    try_number, max_tries, retries, series
) -> None:
    """A clear raises max_tries to try_number + retries (models/taskinstance.py); the first
    try of the current series is max_tries - retries + 1 (task_runner.py)."""

    class TI:
        dag_id, task_id, run_id, map_index = "d", "t", "r", -1

    ti = TI()
    ti.try_number, ti.max_tries = try_number, max_tries
    ti.task = type("Task", (), {"retries": retries})()
    task_run = execution.TaskRun.from_context({"ti": ti}, deferrable=False)
    assert task_run.series == series


def test_a_sink_outlet_event_names_the_partitions_it_wrote(airflow_db, local_data) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    outlets = [Asset("sums"), Asset("sum")]  # "sum": in no sink's path as /sum/
    dag, failures = build("asset_event", sum_of_numbers, outlets=outlets)
    assert run(dag)[0].state == "success", failures

    with create_session() as session:
        extras = dict(
            session.execute(
                select(AssetModel.name, AssetEvent.extra)
                .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                .where(AssetEvent.source_dag_id == "asset_event")
            ).all()
        )
    assert extras["sums"]["ds"] == [DS]
    assert extras["sums"]["partitions"] == [partition("sums", DS)]
    assert len(extras["sums"]["query_ids"]) == 1
    assert "partitions" not in extras["sum"] and "ds" not in extras["sum"]


def test_a_shutdown_leaves_the_cluster_while_another_run_of_the_dag_is_active(
    airflow_db, fake_cloud, cloud_connection
) -> None:
    """Backfill runs are limited by the backfill's max_active_runs, not the DAG's
    (scheduler_job_runner.py): with another run active, the teardown must not stop the
    cluster under it."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from polars_cloud_provider.decorators.polars_task import shutdown_cluster

    own = compute.Manifest("own")
    with DAG(
        "one_at_a_time",
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        max_active_runs=1,
    ) as dag:
        polars_task(task_id="work")(cloud_sink)() >> shutdown_cluster(own)
    fake_cloud.cluster(pc.ComputeContextStatus.IDLE)
    run(dag)  # registers the DAG; its own run stops the cluster
    fake_cloud.context.stop.assert_called_once_with()
    fake_cloud.context.stop.reset_mock()

    with create_session() as session:
        session.add(
            DagRun(
                dag_id="one_at_a_time",
                run_id="backfill__2026-01-02T00:00:00+00:00",
                logical_date=datetime(2026, 1, 2, tzinfo=UTC),
                run_after=datetime(2026, 1, 2, tzinfo=UTC),
                run_type=DagRunType.BACKFILL_JOB,
                state=DagRunState.RUNNING,
                triggered_by=DagRunTriggeredByType.TEST,
            )
        )
    dag_run, _ = run(dag)

    assert dag_run.state == "success"
    fake_cloud.context.stop.assert_not_called()


# -- deferral: a first wait on the worker (issue 16) ------------------------------------------


def test_a_query_done_within_the_first_wait_never_defers(
    airflow_db, fake_cloud, cloud_connection, deferrals, monkeypatch
) -> None:
    monkeypatch.setenv(settings.env_var("defer_after_s"), "600")  # bounds a hang only
    fake_cloud.running(polls=2)
    dag, failures = build("first_wait_done", cloud_sink, deferrable=True)
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    assert deferrals == []  # waited on the worker: no trigger, no resume race
    assert fake_cloud.query.get_status.call_count == 3
    assert xcom(ti, execution.QUERY_KEY)[0]["query_id"] == fake_cloud.query_id


def test_a_query_still_running_after_the_first_wait_defers(
    airflow_db, fake_cloud, cloud_connection, deferrals, monkeypatch
) -> None:
    """Running until the task has deferred (whenever that is), then done: the worker looked
    at it before deferring, and the trigger reports it done on its first poll."""
    monkeypatch.setenv(settings.env_var("defer_after_s"), "0.3")
    looks_before_deferral: list[int] = []

    def status() -> pc.QueryStatus:
        if not deferrals:
            looks_before_deferral.append(1)
            return pc.QueryStatus.INPROGRESS
        return pc.QueryStatus.SUCCESS

    fake_cloud.query.get_status.side_effect = status
    dag, failures = build("first_wait_running", cloud_sink, deferrable=True)
    dag_run, _ = run(dag)

    assert dag_run.state == "success", failures
    assert deferrals == [fake_cloud.query_id]
    assert looks_before_deferral  # the worker looked (for 0.3 s) before deferring
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)


# -- labels (issue 16) ------------------------------------------------------------------------


def test_labels_are_a_bounded_set_and_the_run_is_in_xcom(
    airflow_db, fake_cloud, cloud_connection, deferrals
) -> None:
    """Polars Cloud creates every label it does not know: one per run or try would grow the
    workspace's labels for ever. The labels name the DAG and the task; the run, the try and
    the map index go to the log and to the task's XCom with the query id."""
    dag, failures = build("bounded_labels", cloud_sink)
    dag_run, ti = run(dag)

    assert dag_run.state == "success", failures
    [labels] = fake_cloud.LazyFrameRemote.return_value.labels.call_args.args
    assert labels == ["airflow", "dag:bounded_labels", "task:work"]
    [query] = xcom(ti, execution.QUERY_KEY)
    assert (query["run_id"], query["try_number"], query["map_index"]) == (ti.run_id, 1, -1)
    assert query["query_id"] == fake_cloud.query_id

    later = execution.TaskRun("bounded_labels", "work", "manual__x", 3, 1, map_index=7)
    assert later.labels() == labels  # another run, try and map index: the same labels


# -- a failed trigger (issue 16) --------------------------------------------------------------


class StubTI:
    """What TaskRun.from_context reads of Airflow's running task instance, and its XComs."""

    dag_id, task_id, run_id, map_index = "trigger_failure", "work", "manual__1", -1

    def __init__(self, try_number: int) -> None:
        self.try_number, self.max_tries = try_number, 1  # series 1: max_tries - retries + 1
        self.task = type("Task", (), {"retries": 1})()
        self.pushed: dict = {}

    def xcom_push(self, key, value) -> None:
        self.pushed[key] = value


def test_a_failed_trigger_cancels_its_query_and_the_retry_waits_on_the_worker(
    fake_cloud, cloud_connection, deferrals
) -> None:
    """Airflow resumes a task whose trigger failed only to raise TaskDeferralError
    (next_method ``__fail__``): the query it deferred on is cancelled first. When the cancel
    is not answered (the query may run on), the retry finds it and waits for it on the
    worker instead of deferring to a trigger again, so no query is left running."""
    from airflow.sdk.exceptions import TaskDeferralError
    from polars_cloud_provider.hooks.polars_cloud import authenticate
    from polars_cloud_provider.operators.polars_task import PolarsTaskOperator

    store = Store({execution.QUERY_KEY: {"series": 1, **sink_record(fake_cloud)}})
    fake_cloud.query.get_status.side_effect = [
        pc.QueryStatus.INPROGRESS,  # the failed trigger's resumption asks before cancelling
        pc.QueryStatus.INPROGRESS,  # the retry asks the recorded query
        pc.QueryStatus.INPROGRESS,  # the retry's wait on the worker
        pc.QueryStatus.SUCCESS,
    ]
    fake_cloud.query.cancel.side_effect = RuntimeError("cancel not answered")
    operator = PolarsTaskOperator(task_id="work", python_callable=cloud_sink, deferrable=True)
    failed_trigger = {"error": "Trigger failure", "traceback": ["Traceback...", "KeyError"]}

    with pytest.raises(TaskDeferralError):
        operator.resume_execution(
            "__fail__", failed_trigger, {"ti": StubTI(1), "task_state_store": store}
        )
    fake_cloud.query.cancel.assert_called_once_with()
    assert store[execution.QUERY_KEY]["trigger_failed"] is True

    retry = execution.TaskRun.from_context(
        {"ti": StubTI(2), "task_state_store": store}, deferrable=True
    )
    with execution.running(retry):
        assert authenticate(cloud_sink)() == fake_cloud.query_id  # no TaskDeferred

    assert deferrals == []
    fake_cloud.plan.sink_parquet.assert_not_called()  # no second copy
    assert store[execution.QUERY_KEY]["done"] is True
