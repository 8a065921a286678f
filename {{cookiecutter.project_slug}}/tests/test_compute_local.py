"""The compute helpers on the local backend: real Polars, real files, the cloud contract."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import polars_cloud as pc
import pytest
from conftest import DAGS_FOLDER
from polars.testing import assert_frame_equal

from {{ cookiecutter.package_name }} import compute, datasets, settings
from {{ cookiecutter.package_name }}.auth import authenticate

FRAME = pl.LazyFrame({"category": ["a", "b", "a"], "amount": [1.0, 2.0, 3.0]})
TOTALS = FRAME.group_by("category").agg(pl.sum("amount")).sort("category")


@authenticate
def run(helper, *args, **kwargs):
    return helper(*args, **kwargs)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def target(tmp_path) -> Path:
    return tmp_path / "curated" / "totals" / "ds=2026-01-01"


def test_local_mode_needs_no_secret_and_never_calls_polars_cloud(local_connection, monkeypatch):
    def refuse(**_):
        raise AssertionError("pc.authenticate called in local mode")

    monkeypatch.setattr(pc, "authenticate", refuse)
    monkeypatch.setattr(pc, "ComputeContext", refuse)
    assert run(compute.execute, FRAME, on=compute.Manifest())


@pytest.mark.parametrize("mode", [compute.SINGLE_NODE, compute.DISTRIBUTED])
def test_sink_writes_the_result_and_nothing_else(local_connection, target, mode) -> None:
    query_id = run(compute.sink, TOTALS, str(target), on=compute.Manifest(), mode=mode)

    assert query_id.startswith("local-")
    assert files_under(target.parent) == ["ds=2026-01-01/part-0.parquet"]
    assert_frame_equal(pl.read_parquet(target / "part-0.parquet"), TOTALS.collect())


def test_a_rerun_replaces_its_partition_instead_of_appending(local_connection, target) -> None:
    neighbour = target.parent / "ds=2025-12-31"
    run(compute.sink, TOTALS, str(neighbour), on=compute.Manifest())
    run(compute.sink, FRAME, str(target), on=compute.Manifest())
    run(compute.sink, TOTALS, str(target), on=compute.Manifest())

    assert files_under(target.parent) == [
        "ds=2025-12-31/part-0.parquet",
        "ds=2026-01-01/part-0.parquet",
    ]
    assert_frame_equal(pl.read_parquet(target / "part-0.parquet"), TOTALS.collect())


def test_a_failing_query_fails_with_the_polars_error_and_writes_nothing(
    local_connection, target, tmp_path
) -> None:
    source = tmp_path / "bad.parquet"
    pl.DataFrame({"amount": ["1", "not a number"]}).write_parquet(source)
    failing = pl.scan_parquet(source).with_columns(pl.col("amount").cast(pl.Int64, strict=True))
    run(compute.sink, TOTALS, str(target), on=compute.Manifest())  # yesterday's good output

    with pytest.raises(compute.QueryFailed) as caught:
        run(compute.sink, failing, str(target), on=compute.Manifest())

    assert caught.value.status == "FAILED"
    assert caught.value.query_id.startswith("local-")
    assert "InvalidOperationError" in str(caught.value)
    assert isinstance(caught.value.__cause__, pl.exceptions.InvalidOperationError)
    assert files_under(target.parent) == ["ds=2026-01-01/part-0.parquet"]  # untouched
    assert_frame_equal(pl.read_parquet(target / "part-0.parquet"), TOTALS.collect())


def test_a_query_that_cannot_be_planned_fails_the_same_way(local_connection, target) -> None:
    with pytest.raises(compute.QueryFailed, match="ColumnNotFoundError"):
        run(compute.sink, FRAME.select("no_such_column"), str(target), on=compute.Manifest())
    assert not target.parent.exists()


def test_execute_returns_parquet_locations_another_task_can_scan(local_connection) -> None:
    first = run(compute.execute, TOTALS, on=compute.Manifest(), mode=compute.SINGLE_NODE)
    second = run(compute.execute, TOTALS, on=compute.Manifest(), mode=compute.SINGLE_NODE)

    assert isinstance(first, list) and all(isinstance(p, str) for p in first)
    assert first != second, "two queries must never share intermediate files"
    assert all(Path(p).is_relative_to(local_connection) for p in first + second)
    assert_frame_equal(datasets.scan(first).collect(), TOTALS.collect())


def test_a_query_past_the_timeout_is_cancelled_and_leaves_nothing(
    local_connection, target, monkeypatch
) -> None:
    monkeypatch.setenv(settings.env_var("query_timeout_s"), "0.001")
    rows = pl.LazyFrame({"x": range(3_000)})
    slow = rows.join(rows, how="cross").sort("x")  # 9M rows: far more than a millisecond

    with pytest.raises(compute.QueryTimedOut, match=r"local-\w+ did not finish within 0.001 s"):
        run(compute.sink, slow, str(target), on=compute.Manifest())
    assert not target.parent.exists() or files_under(target.parent) == []


def test_an_execution_timeout_cancels_the_query_and_leaves_nothing(local_connection, target):
    """Airflow's execution_timeout interrupts the task with SIGALRM while it waits: the query
    must stop and its staging files go, or a retry would race it for the same partition."""
    from airflow.sdk.exceptions import AirflowTaskTimeout
    from airflow.sdk.execution_time.timeout import timeout

    rows = pl.LazyFrame({"x": range(10_000)})
    long_write = rows.join(rows, how="cross")  # 100M rows: seconds of writing

    def time_out_once_writing() -> None:  # fire Airflow's timer mid-write, however fast
        deadline = time.monotonic() + 60
        while not list(target.parent.glob(".*/*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGALRM)

    threading.Thread(target=time_out_once_writing, name="alarm", daemon=True).start()
    with pytest.raises(AirflowTaskTimeout) as caught, timeout(120):
        run(compute.sink, long_write, str(target), on=compute.Manifest())

    notes = getattr(caught.value, "__notes__", [])
    assert any(re.fullmatch(r"Polars query local-\w+ was cancelled\.", note) for note in notes)
    assert [t.name for t in threading.enumerate() if t.name.startswith("polars-local-")] == []
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


_KILLED_WRITER = """
import sys

import polars as pl

package, target = sys.argv[1:]
compute = __import__(f"{package}.compute", fromlist=["compute"])
local = __import__(f"{package}.compute.local", fromlist=["local"])
rows = pl.LazyFrame({"x": range(10_000)})  # 100M rows: seconds of writing
with compute.backend.activated(local.LocalBackend()):
    compute.sink(rows.join(rows, how="cross"), target, on=compute.Manifest())
"""


def test_a_rewrite_clears_what_a_killed_write_left(local_connection, target) -> None:
    """A worker killed mid-write (out of memory, a lost node) cannot clean up. The retry that
    rewrites the partition must clear its leftovers: Polars' globs read dot-folders too."""
    package = compute.__name__.split(".")[0]
    env = {**os.environ, "PYTHONPATH": str(DAGS_FOLDER)}
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, package, str(target)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not list(target.parent.glob(".*/*.parquet")):
            assert writer.poll() is None, "the write ended before it could be killed"
            assert time.monotonic() < deadline, "the write never started"
            time.sleep(0.01)
    finally:
        writer.kill()
        writer.wait()
    assert list(target.parent.glob(".*/*.parquet")), "the killed write left nothing to clear"

    run(compute.sink, TOTALS, str(target), on=compute.Manifest())  # the retry

    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert files_under(target.parent) == ["ds=2026-01-01/part-0.parquet"]
    assert_frame_equal(pl.read_parquet(f"{target.parent}/*/*.parquet"), TOTALS.collect())


def test_fire_and_forget_finishes_locally_and_only_logs_a_failure(
    local_connection, target, caplog
) -> None:
    assert run(compute.submit, TOTALS, str(target), on=compute.Specs(idle_timeout_mins=10))
    assert files_under(target.parent) == ["ds=2026-01-01/part-0.parquet"]

    broken = FRAME.select(pl.col("amount").str.len_chars())
    assert run(compute.submit, broken, str(target), on=compute.Specs(idle_timeout_mins=10))
    assert "Fire-and-forget query failed" in caplog.text


def test_shutdown_and_immediate_shutdown_are_no_ops_that_succeed(local_connection, target) -> None:
    assert run(compute.shutdown) is False

    @authenticate
    def block() -> str:
        with compute.immediate_shutdown(compute.Specs()) as cluster:
            return compute.sink(TOTALS, str(target), on=cluster)

    assert block().startswith("local-")


def test_an_error_inside_immediate_shutdown_is_the_one_reported(local_connection) -> None:
    @authenticate
    def block() -> None:
        with compute.immediate_shutdown():
            raise LookupError("original")

    with pytest.raises(LookupError, match="original"):
        block()


def test_scans_use_the_configured_storage_options_locally(local_connection, monkeypatch) -> None:
    monkeypatch.setenv(settings.env_var("storage_options"), '{"aws_region": "eu-west-1"}')
    seen = []
    monkeypatch.setattr(
        pl, "scan_parquet", lambda uris, storage_options=None: seen.append(storage_options)
    )

    run(datasets.scan, "s3://bucket/x/*.parquet")
    assert seen == [{"aws_region": "eu-west-1"}]


def test_storage_options_errors_never_echo_the_value(monkeypatch) -> None:
    monkeypatch.setenv(settings.env_var("storage_options"), '{"aws_secret_access_key": 7}')
    with pytest.raises(settings.SettingsError) as caught:
        settings.load()
    assert "aws_secret_access_key" not in str(caught.value)
