"""The compute helpers on the local backend: real Polars, real files, the cloud contract."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import polars_cloud as pc
import pytest
from conftest import S3_BUCKET, moto_s3, s3_keys, s3_options
from polars.testing import assert_frame_equal
from polars_cloud_provider import compute, settings
from polars_cloud_provider.engines import local_staging
from polars_cloud_provider.hooks.polars_cloud import authenticate

FRAME = pl.LazyFrame({"category": ["a", "b", "a"], "amount": [1.0, 2.0, 3.0]})
TOTALS = FRAME.group_by("category").agg(pl.sum("amount")).sort("category")
MANIFEST = compute.Manifest("local-tests")
SPECS = compute.Specs(cpus=1, memory_gb=1, idle_timeout_mins=10)


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
    assert run(compute.execute, FRAME, on=MANIFEST)


@pytest.mark.parametrize("mode", [compute.SINGLE_NODE, compute.DISTRIBUTED])
def test_sink_writes_the_result_and_nothing_else(local_connection, target, mode) -> None:
    query_id = run(compute.sink, TOTALS, str(target), on=MANIFEST, mode=mode)

    assert query_id.startswith("local-")
    assert files_under(target.parent) == ["ds=2026-01-01/part-0.parquet"]
    assert_frame_equal(pl.read_parquet(target / "part-0.parquet"), TOTALS.collect())


def test_a_rerun_replaces_its_partition_instead_of_appending(local_connection, target) -> None:
    neighbour = target.parent / "ds=2025-12-31"
    run(compute.sink, TOTALS, str(neighbour), on=MANIFEST)
    run(compute.sink, FRAME, str(target), on=MANIFEST)
    run(compute.sink, TOTALS, str(target), on=MANIFEST)

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
    run(compute.sink, TOTALS, str(target), on=MANIFEST)  # yesterday's good output

    with pytest.raises(compute.QueryFailed) as caught:
        run(compute.sink, failing, str(target), on=MANIFEST)

    assert caught.value.status == "FAILED"
    assert caught.value.query_id.startswith("local-")
    assert "InvalidOperationError" in str(caught.value)
    assert isinstance(caught.value.__cause__, pl.exceptions.InvalidOperationError)
    assert files_under(target.parent) == ["ds=2026-01-01/part-0.parquet"]  # untouched
    assert_frame_equal(pl.read_parquet(target / "part-0.parquet"), TOTALS.collect())


def test_a_query_that_cannot_be_planned_fails_the_same_way(local_connection, target) -> None:
    with pytest.raises(compute.QueryFailed, match="ColumnNotFoundError"):
        run(compute.sink, FRAME.select("no_such_column"), str(target), on=MANIFEST)
    assert not target.parent.exists()


def test_a_missing_input_on_s3_fails_the_query_as_it_is_planned_naming_its_uri(
    local_connection, s3_bucket
) -> None:
    """A day with no file on an object store: the scan finds nothing while the query is
    planned; the failure names the URI it looked at, and nothing is written."""
    missing = f"s3://{S3_BUCKET}/warehouse/raw/clicks/ds=2030-12-31/*.parquet"
    target = f"s3://{S3_BUCKET}/warehouse/curated/clicks_copy/ds=2030-12-31/"

    with pytest.raises(compute.QueryFailed) as caught:
        run(compute.sink, pl.scan_parquet(missing), target, on=MANIFEST)

    assert str(caught.value).startswith("Missing input, not retried")
    assert missing in str(caught.value)
    assert s3_keys(s3_bucket) == []


def test_execute_returns_parquet_locations_another_task_can_scan(local_connection) -> None:
    first = run(compute.execute, TOTALS, on=MANIFEST, mode=compute.SINGLE_NODE)
    second = run(compute.execute, TOTALS, on=MANIFEST, mode=compute.SINGLE_NODE)

    assert isinstance(first, list) and all(isinstance(p, str) for p in first)
    assert first != second, "two queries must never share intermediate files"
    assert all(Path(p).is_relative_to(local_connection) for p in first + second)
    assert_frame_equal(compute.scan_parquet(first).collect(), TOTALS.collect())


def test_a_query_past_the_timeout_is_cancelled_and_leaves_nothing(
    local_connection, target, monkeypatch
) -> None:
    monkeypatch.setenv(settings.env_var("query_timeout_s"), "0.001")
    rows = pl.LazyFrame({"x": range(3_000)})
    slow = rows.join(rows, how="cross").sort("x")  # 9M rows: far more than a millisecond

    with pytest.raises(compute.QueryTimedOut, match=r"local-\w+ did not finish within 0.001 s"):
        run(compute.sink, slow, str(target), on=MANIFEST)
    assert not target.parent.exists() or files_under(target.parent) == []


def test_an_execution_timeout_cancels_the_query_and_leaves_nothing(local_connection, target):
    """Airflow's execution_timeout interrupts the task with SIGALRM while it waits: the query
    must stop and its staging files go, or a retry would race it for the same partition.

    Events, not timing: the timer fires once the query is writing, and the query never ends
    on its own, so neither can finish before the other."""
    from airflow.sdk.exceptions import AirflowTaskTimeout
    from airflow.sdk.execution_time.timeout import timeout

    writing = threading.Event()

    def note_writing(batch: pl.Series) -> pl.Series:
        writing.set()
        return batch

    endless = _endless().with_columns(
        pl.col("n").map_batches(note_writing, return_dtype=pl.Int64, is_elementwise=True)
    )
    alarm = threading.Thread(
        target=lambda: writing.wait(60) and os.kill(os.getpid(), signal.SIGALRM), name="alarm"
    )
    alarm.start()
    with pytest.raises(AirflowTaskTimeout) as caught, timeout(120):
        run(compute.sink, endless, str(target), on=MANIFEST)
    alarm.join()

    notes = getattr(caught.value, "__notes__", [])
    cancelled = [re.fullmatch(r"Polars query (local-\w+) was cancelled\.", n) for n in notes]
    query_id = next(match[1] for match in cancelled if match)
    for thread in threading.enumerate():
        if thread.name == f"polars-{query_id}":
            thread.join(60)  # it has said it is done; it only has to return
            assert not thread.is_alive()
    assert files_under(target.parents[1]) == []


WRITER = Path(__file__).with_name("local_writer.py")


class Writer:
    """``compute.sink`` of ``rows`` rows tagged ``tag`` in a process of its own
    (``local_writer.py``), which pauses once mid-write; rows 0: a write that never ends."""

    def __init__(self, target: Path, tag: str, rows: int = 1_000) -> None:
        self.tag = tag
        self.process = subprocess.Popen(
            [sys.executable, str(WRITER), str(target), tag, str(rows), str(target.parents[2])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def paused(self) -> Writer:
        """Wait until it is writing, paused."""
        line = self.process.stdout.readline()
        if line != b"paused\n":
            self.process.kill()
            pytest.fail(f"the writer did not pause mid-write: {self.end()[1]}")
        return self

    def go(self) -> None:
        """Let it go on."""
        self.process.stdin.close()
        self.process.stdin = None  # so that communicate() does not flush it

    def end(self) -> tuple[int, str]:
        """Let it go on and finish: its exit code and what it wrote to stderr."""
        if self.process.stdin is not None:
            self.go()
        _, err = self.process.communicate()
        return self.process.returncode, err.decode(errors="replace")

    def kill(self) -> None:
        self.process.kill()
        self.end()


def _endless() -> pl.LazyFrame:
    """Ten billion rows: a write that goes on until it is stopped."""
    numbers = pl.LazyFrame({"n": range(100_000)})
    return numbers.join(numbers, how="cross").select("n", writer=pl.lit("endless"))


def parquet_files(root: Path) -> list[str]:
    """Every parquet file under ``root``: published partitions and anything else."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


@pytest.mark.parametrize("order", ["first-ends-first", "second-ends-first", "together"])
def test_overlapping_writes_of_one_partition_leave_exactly_one_complete_partition(
    target, tmp_path, order
) -> None:
    """A retry can start while an earlier attempt of the same task still writes. Whatever
    the interleaving, one complete partition must stay in place: the last write to finish
    wins, the other succeeds too (both wrote the same day), nothing is left beside it."""
    writers = [Writer(target, "first"), Writer(target, "second")]
    for writer in writers:
        writer.paused()  # both are mid-write now
    if order == "together":
        for writer in writers:
            writer.go()
    ending = writers if order != "second-ends-first" else writers[::-1]
    outcomes = [writer.end() for writer in ending]

    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert parquet_files(tmp_path) == ["curated/totals/ds=2026-01-01/part-0.parquet"]
    tags = pl.read_parquet(target / "part-0.parquet")["writer"].unique().to_list()
    if order == "together":
        assert tags in (["first"], ["second"])
    else:
        assert tags == [ending[-1].tag]


def test_a_write_in_progress_or_killed_is_invisible_to_readers_of_its_dataset(
    local_connection, target
) -> None:
    """Whatever glob reads a dataset, it sees published partitions only: never a write in
    progress, nor what a write killed mid-way (out of memory, SIGKILL) left behind."""
    yesterday = target.with_name("ds=2025-12-31")
    run(compute.sink, TOTALS, str(yesterday), on=MANIFEST)
    dataset = target.parent

    def every_read_sees_yesterday_only() -> None:
        for pattern in ("**/*.parquet", "*/*.parquet", "*/part-0.parquet"):
            assert_frame_equal(pl.read_parquet(f"{dataset}/{pattern}"), TOTALS.collect())

    writer = Writer(target, "today", rows=0).paused()
    try:
        every_read_sees_yesterday_only()
    finally:
        writer.kill()
    every_read_sees_yesterday_only()


def test_the_next_write_of_any_partition_clears_what_a_killed_write_left(
    local_connection, target, tmp_path
) -> None:
    Writer(target, "killed", rows=0).paused().kill()
    assert parquet_files(tmp_path), "the killed write left nothing to clear"

    other = tmp_path / "curated" / "other_dataset" / "ds=2026-01-02"
    run(compute.sink, TOTALS, str(other), on=MANIFEST)

    assert parquet_files(tmp_path) == ["curated/other_dataset/ds=2026-01-02/part-0.parquet"]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_sigint_and_sigterm_stop_a_write_cleanly(target, tmp_path, stop) -> None:
    """Airflow's supervisor sends SIGINT, then SIGTERM, before SIGKILL: either must cancel the
    query and remove what it wrote, not abort the process (Polars panics on a SIGINT while
    a thread waits inside it) nor die on the spot."""
    writer = Writer(target, "stopped", rows=0).paused()
    writer.process.send_signal(stop)
    code, stderr = writer.end()

    assert code not in (0, -signal.SIGABRT, 134), stderr
    assert "panic" not in stderr, stderr
    assert re.search(r"Polars query local-\w+ was cancelled\.", stderr), stderr
    assert parquet_files(tmp_path) == []


def test_without_an_atomic_exchange_a_rewrite_still_replaces_the_partition(
    local_connection, target, tmp_path, monkeypatch
) -> None:
    """File systems with no atomic exchange (NFS, some overlays) get two renames instead."""
    from polars_cloud_provider.engines import local_staging

    monkeypatch.setattr(local_staging, "exchange", lambda a, b: False)
    run(compute.sink, FRAME, str(target), on=MANIFEST)
    run(compute.sink, TOTALS, str(target), on=MANIFEST)

    assert parquet_files(tmp_path / "curated") == ["totals/ds=2026-01-01/part-0.parquet"]
    assert_frame_equal(pl.read_parquet(target / "part-0.parquet"), TOTALS.collect())


def test_without_an_atomic_exchange_a_failed_second_rename_puts_the_partition_back(
    local_connection, target, tmp_path, monkeypatch
) -> None:
    """Between the two renames the partition is elsewhere: if the second fails, the first is
    undone, so the failed rewrite leaves the earlier partition where readers find it."""
    from polars_cloud_provider.engines import local_staging

    monkeypatch.setattr(local_staging, "exchange", lambda a, b: False)
    run(compute.sink, FRAME, str(target), on=MANIFEST)
    rename = Path.rename

    def refused_into_place(self: Path, destination):
        staged_write = local_staging.STAGING in self.parts and not self.name.endswith("previous")
        if Path(destination) == target and staged_write:
            raise OSError(5, "Input/output error")  # the new partition refused its place
        return rename(self, destination)

    monkeypatch.setattr(Path, "rename", refused_into_place)
    with pytest.raises(Exception, match="Input/output error"):
        run(compute.sink, TOTALS, str(target), on=MANIFEST)

    assert parquet_files(tmp_path / "curated") == ["totals/ds=2026-01-01/part-0.parquet"]
    assert_frame_equal(pl.read_parquet(target / "part-0.parquet"), FRAME.collect())


def test_staging_is_outside_every_tree_a_reader_globs(
    local_connection, target, tmp_path, monkeypatch
) -> None:
    """Readers of a whole tree (``curated/**/*.parquet``, ``raw/``, the intermediates) never
    meet a write in progress, nor what a write killed mid-way (SIGKILL) left behind."""
    monkeypatch.setenv(settings.env_var("local_data_root"), str(tmp_path))
    raw = tmp_path / "raw" / "orders" / "part-0.parquet"
    raw.parent.mkdir(parents=True)
    FRAME.collect().write_parquet(raw)
    run(compute.execute, FRAME, on=MANIFEST)  # an intermediate result
    run(compute.sink, TOTALS, str(target.with_name("ds=2025-12-31")), on=MANIFEST)
    trees = {
        tmp_path / "curated": TOTALS.collect(),
        tmp_path / "raw": FRAME.collect(),
        local_connection: FRAME.collect(),
    }

    def every_tree_reads_whole() -> None:
        for tree, expected in trees.items():
            for pattern in ("**/*.parquet", "**/part-0.parquet"):
                assert_frame_equal(pl.read_parquet(f"{tree}/{pattern}"), expected)

    writer = Writer(target, "today", rows=0).paused()
    try:
        every_tree_reads_whole()
        staged = parquet_files(tmp_path / local_staging.STAGING)
        assert staged, "the write in progress is not staged at the data root"
    finally:
        writer.kill()
    assert parquet_files(tmp_path / local_staging.STAGING) == staged  # the killed write's debris
    every_tree_reads_whole()


def test_intermediate_results_older_than_the_retention_are_removed(
    local_connection, monkeypatch
) -> None:
    """Polars Cloud deletes intermediate results after some hours; locally, each query
    removes those older than the retention setting first."""
    monkeypatch.setenv(settings.env_var("local_retention_hours"), "1")
    old, recent = (run(compute.execute, TOTALS, on=MANIFEST)[0] for _ in range(2))
    two_hours_ago = time.time() - 2 * 3600
    for path in (Path(old), Path(old).parent):
        os.utime(path, (two_hours_ago, two_hours_ago))

    # A query whose directory is old but holds a recent file is kept.
    os.utime(Path(recent).parent, (two_hours_ago, two_hours_ago))
    # Run and task directories left empty: removed once as old, the deepest first.
    stale_task = local_connection / "a_dag" / "an_old_run" / "a_task"
    stale_task.mkdir(parents=True)
    for path in (stale_task, stale_task.parent, stale_task.parent.parent):
        os.utime(path, (two_hours_ago, two_hours_ago))

    newest = run(compute.execute, TOTALS, on=MANIFEST)[0]

    assert not Path(old).parent.exists()
    assert Path(recent).exists() and Path(newest).exists()
    assert not (local_connection / "a_dag").exists()


SILENT_ORDERS = "s3://silent-bucket/data/raw/orders/*.parquet"


def test_a_store_that_stops_answering_times_the_query_out_naming_it(
    local_connection, silent_store, target, monkeypatch
) -> None:
    """Listing the inputs happens while the query is planned: that too is bounded by the
    query timeout, and the message says which endpoint did not answer."""
    monkeypatch.setenv(settings.env_var("query_timeout_s"), "0.5")
    monkeypatch.setenv(settings.env_var("storage_timeout_s"), "0.5")

    caught = _sink_orders_bounded(target)

    assert isinstance(caught, compute.QueryTimedOut), caught
    assert f"the object store at {silent_store} did not answer within 0.5 s" in str(caught)
    assert parquet_files(target.parents[2]) == []


def test_a_store_that_stops_answering_fails_a_request_in_time_naming_it(
    local_connection, silent_store, target, monkeypatch
) -> None:
    """Each object-store request is bounded too (Polars sets no limit): the query fails with
    the endpoint in the message, as a transient failure Airflow retries."""
    monkeypatch.setenv(settings.env_var("storage_timeout_s"), "0.5")

    caught = _sink_orders_bounded(target)

    assert isinstance(caught, compute.QueryFailed), caught
    assert silent_store.removeprefix("http://") in str(caught)
    assert "Failure transient (network): Airflow retries this task." in caught.__notes__


def _sink_orders_bounded(target: Path, source: str = SILENT_ORDERS) -> BaseException | None:
    """Sink the orders input (``source``) to ``target`` in a thread, and what it raised. A hang
    fails the test after a minute instead of holding the suite (it could be stuck in native
    code)."""
    outcome: list[BaseException | None] = []

    @authenticate
    def sink_orders() -> None:
        orders = compute.scan_parquet(source, dataset="orders")
        compute.sink(orders, str(target), on=MANIFEST)

    def call() -> None:
        try:
            sink_orders()
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    worker = threading.Thread(target=call, name="sink-orders", daemon=True)
    worker.start()
    worker.join(60)
    assert outcome, "the sink hung on a store that does not answer"
    return outcome[0]


def test_fire_and_forget_finishes_locally_and_only_logs_a_failure(
    local_connection, target, caplog
) -> None:
    assert run(compute.submit, TOTALS, str(target), on=SPECS)
    assert files_under(target.parent) == ["ds=2026-01-01/part-0.parquet"]

    broken = FRAME.select(pl.col("amount").str.len_chars())
    assert run(compute.submit, broken, str(target), on=SPECS)
    assert "Fire-and-forget query failed" in caplog.text


def test_shutdown_and_immediate_shutdown_are_no_ops_that_succeed(local_connection, target) -> None:
    assert run(compute.shutdown, MANIFEST) is False

    @authenticate
    def block() -> str:
        with compute.immediate_shutdown(SPECS) as cluster:
            return compute.sink(TOTALS, str(target), on=cluster)

    assert block().startswith("local-")


def test_an_error_inside_immediate_shutdown_is_the_one_reported(local_connection) -> None:
    @authenticate
    def block() -> None:
        with compute.immediate_shutdown(SPECS):
            raise LookupError("original")

    with pytest.raises(LookupError, match="original"):
        block()


def test_scans_use_the_configured_storage_options_locally(local_connection, monkeypatch) -> None:
    """Plus a bound on each object-store request (Polars sets none): the configured options
    win over it."""
    monkeypatch.setenv(settings.env_var("storage_options"), '{"aws_region": "eu-west-1"}')
    monkeypatch.setenv(settings.env_var("storage_timeout_s"), "20")
    seen = []
    monkeypatch.setattr(
        pl, "scan_parquet", lambda uris, storage_options=None: seen.append(storage_options)
    )
    run(compute.scan_parquet, "s3://bucket/x/*.parquet")

    monkeypatch.setenv(settings.env_var("storage_options"), '{"read_timeout": "5s"}')
    run(compute.scan_parquet, "s3://bucket/x/*.parquet")

    bound = {"connect_timeout": "20000ms", "read_timeout": "20000ms", "retry_timeout_ms": 20000}
    assert seen == [{**bound, "aws_region": "eu-west-1"}, {**bound, "read_timeout": "5s"}]


def test_storage_options_errors_never_echo_the_value(monkeypatch) -> None:
    monkeypatch.setenv(settings.env_var("storage_options"), '{"aws_secret_access_key": 7}')
    with pytest.raises(settings.SettingsError) as caught:
        settings.load()
    assert "aws_secret_access_key" not in str(caught.value)


class _Throttle:
    """A TCP proxy on 127.0.0.1 in front of an S3 server: requests pass as they are; answers
    come back ``chunk`` bytes at a time, ``gap_s`` apart (a slow link), or, once ``stall``
    is set and ``stall_after`` bytes have come back, stop coming at all (a store that stalls
    mid-transfer)."""

    stall_after = 20_000  # past the listing and the footer: inside the file's data

    def __init__(self, upstream: tuple[str, int], chunk: int = 2048, gap_s: float = 0.05):
        self.upstream, self.chunk, self.gap_s = upstream, chunk, gap_s
        self.stall = threading.Event()
        self.closed = threading.Event()
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, slow: bool) -> None:
        try:
            while data := source.recv(65536):
                for start in range(0, len(data), self.chunk if slow else len(data)):
                    if slow and self.stall.is_set() and self.sent >= self.stall_after:
                        self.closed.wait()  # sends nothing more until the test ends
                        return
                    sink.sendall(data[start : start + (self.chunk if slow else len(data))])
                    if slow:
                        self.sent += self.chunk
                        self.closed.wait(self.gap_s)  # the link's pace
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


SLOW_ORDERS = "s3://slow-bucket/data/raw/orders/*.parquet"


@pytest.fixture
def slow_store(monkeypatch) -> Iterator[_Throttle]:
    """Orders (``SLOW_ORDERS``) on moto's S3 server, read through a throttling proxy: about
    40 KB/s."""
    with moto_s3("slow-bucket") as direct:
        upstream = urlsplit(direct)
        throttle = _Throttle((str(upstream.hostname), int(upstream.port or 80)))
        pl.DataFrame({"amount": [float(n) for n in range(8_000)]}).write_parquet(
            "s3://slow-bucket/data/raw/orders/part-0.parquet",
            storage_options=s3_options(direct),
            compression="uncompressed",  # 64 KB: about 1.6 s through the proxy
        )
        options = json.dumps(s3_options(throttle.endpoint))
        monkeypatch.setenv(settings.env_var("storage_options"), options)
        monkeypatch.setenv(settings.env_var("storage_timeout_s"), "1")
        try:
            yield throttle
        finally:
            throttle.close()


def test_a_slow_store_that_keeps_sending_is_waited_for(
    local_connection, slow_store, target
) -> None:
    """The storage timeout means no progress for that long, not a cap on a transfer: the
    input takes about 1.6 s to arrive, longer than the 1 s storage timeout."""
    caught = _sink_orders_bounded(target, SLOW_ORDERS)

    assert caught is None, caught
    assert pl.read_parquet(target / "part-0.parquet").height == 8_000


def test_a_store_that_stalls_mid_transfer_fails_naming_it(
    local_connection, slow_store, target
) -> None:
    slow_store.stall.set()

    caught = _sink_orders_bounded(target, SLOW_ORDERS)

    assert isinstance(caught, compute.QueryFailed), caught
    assert f"the object store at {slow_store.endpoint} sent nothing for 1 s" in str(caught)
    assert parquet_files(target.parents[2]) == []
