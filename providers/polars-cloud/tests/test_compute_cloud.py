"""The compute helpers against Polars Cloud, every call checked against the installed
polars_cloud signatures (the ``fake_cloud`` fixture of ``polars_cloud_provider.testing``)."""

from __future__ import annotations

import logging
import re
import threading
from unittest.mock import create_autospec

import polars as pl
import polars_cloud as pc
import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout
from polars_cloud.polars_cloud import AuthLoadError
from polars_cloud_provider import compute, settings
from polars_cloud_provider.engines.cloud import ManifestDrift
from polars_cloud_provider.hooks.polars_cloud import authenticate

TARGET = "s3://bucket/curated/orders_by_status/ds=2026-01-01/"
FRAME = pl.LazyFrame({"status": ["active", "shipped"]})
WORKSPACE = "tests"
"""The ``workspace`` extra of the ``cloud_connection`` fixture."""
MANIFEST = compute.Manifest("etl-small")
SPECS = compute.Specs(cpus=2, memory_gb=8)


@pytest.fixture
def current(cloud_connection) -> settings.Settings:
    return settings.load()


@authenticate
def run(helper, *args, **kwargs):
    """Call a compute helper the way a task does: inside @authenticate."""
    return helper(*args, **kwargs)


def test_the_fake_rejects_calls_the_real_client_would_reject(fake_cloud) -> None:
    with pytest.raises(TypeError):
        pc.ComputeContext(workspace="w", manifest="misspelt-keyword")
    with pytest.raises(TypeError):
        fake_cloud.query.await_result(raise_on_failures=False)
    with pytest.raises(TypeError):
        fake_cloud.plan.sink_parquet(TARGET, mkdir=True)  # a local-only polars option


def test_sink_on_a_manifest_single_node(fake_cloud, current) -> None:
    query_id = run(compute.sink, FRAME, TARGET, on=MANIFEST, mode=compute.SINGLE_NODE)

    assert query_id == fake_cloud.query_id
    fake_cloud.ComputeContext.assert_called_once_with(workspace=WORKSPACE, name=MANIFEST.name)
    fake_cloud.LazyFrameRemote.assert_called_once_with(FRAME, context=fake_cloud.context)
    fake_cloud.LazyFrameRemote.return_value.single_node.assert_called_once_with()
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)
    fake_cloud.query.await_result.assert_called_once_with(raise_on_failure=False)


def test_sink_distributed_adds_the_trailing_slash(fake_cloud, current) -> None:
    run(compute.sink, FRAME, TARGET.rstrip("/"), on=MANIFEST, mode=compute.DISTRIBUTED)
    fake_cloud.LazyFrameRemote.return_value.distributed.assert_called_once_with()
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)


def test_sink_refuses_a_file_name_target(fake_cloud, current) -> None:
    with pytest.raises(ValueError, match="directory"):
        run(compute.sink, FRAME, "s3://bucket/out/report.parquet", on=MANIFEST)
    fake_cloud.plan.sink_parquet.assert_not_called()


def test_specs_size_an_unnamed_cluster(fake_cloud, current) -> None:
    specs = compute.Specs(cpus=4, memory_gb=16, cluster_size=2, idle_timeout_mins=15)
    run(compute.sink, FRAME, TARGET, on=specs)
    fake_cloud.ComputeContext.assert_called_once_with(
        workspace=WORKSPACE, cpus=4, memory=16, cluster_size=2, idle_timeout_mins=15
    )


def test_specs_default_to_one_node_and_the_shortest_idle_timeout(fake_cloud, current) -> None:
    run(compute.sink, FRAME, TARGET, on=SPECS)
    fake_cloud.ComputeContext.assert_called_once_with(
        workspace=WORKSPACE, cpus=2, memory=8, cluster_size=1, idle_timeout_mins=10
    )


@pytest.mark.parametrize(
    "bad",
    [{"cpus": 0}, {"memory_gb": "8"}, {"cluster_size": -1}, {"idle_timeout_mins": 5}],
)
def test_specs_refuse_sizes_polars_cloud_would_refuse(bad) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        compute.Specs(**{"cpus": 2, "memory_gb": 8, **bad})


def test_specs_need_a_size_and_a_manifest_needs_a_name() -> None:
    with pytest.raises(TypeError, match="memory_gb"):
        compute.Specs(cpus=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="name"):
        compute.Manifest()  # type: ignore[call-arg]
    for blank in ("", "  ", None):
        with pytest.raises(ValueError, match="needs the name of a registered manifest"):
            compute.Manifest(blank)  # type: ignore[arg-type]


def test_a_failed_query_fails_the_task_with_its_id_and_the_polars_error(
    fake_cloud, current
) -> None:
    error = pl.exceptions.ColumnNotFoundError("unable to find column 'amount'")
    fake_cloud.finish(pc.QueryStatus.FAILED, error=error)
    with pytest.raises(compute.QueryFailed) as caught:
        run(compute.sink, FRAME, TARGET, on=MANIFEST)
    assert caught.value.query_id == fake_cloud.query_id
    assert caught.value.status == "FAILED"
    assert "ColumnNotFoundError" in str(caught.value) and fake_cloud.query_id in str(caught.value)
    assert caught.value.__cause__ is error


@pytest.mark.parametrize(
    "status", [pc.QueryStatus.CANCELED, pc.QueryStatus.INPROGRESS], ids=lambda s: s.name
)
def test_any_status_but_success_fails_the_task(fake_cloud, current, status) -> None:
    fake_cloud.finish(status)
    fake_cloud.query.get_status.return_value = pc.QueryStatus.CANCELED  # done, as polled
    with pytest.raises(
        compute.QueryFailed, match=f"{fake_cloud.query_id} ended with status {status.name}"
    ):
        run(compute.sink, FRAME, TARGET, on=MANIFEST)


def test_execute_returns_the_result_locations(fake_cloud, current) -> None:
    fake_cloud.finish(
        pc.QueryStatus.SUCCESS, locations=["s3://tmp/a.parquet", "s3://tmp/b.parquet"]
    )
    locations = run(compute.execute, FRAME, on=MANIFEST, mode=compute.SINGLE_NODE)
    assert locations == ["s3://tmp/a.parquet", "s3://tmp/b.parquet"]
    fake_cloud.plan.execute.assert_called_once_with(blocking=False)


def test_execute_without_locations_fails(fake_cloud, current) -> None:
    fake_cloud.finish(pc.QueryStatus.SUCCESS, locations=None)
    with pytest.raises(compute.QueryFailed, match="no result locations"):
        run(compute.execute, FRAME, on=MANIFEST)


def test_execute_that_was_canceled_fails(fake_cloud, current) -> None:
    fake_cloud.finish(pc.QueryStatus.CANCELED, locations=["s3://tmp/a.parquet"])
    with pytest.raises(compute.QueryFailed, match="CANCELED"):
        run(compute.execute, FRAME, on=MANIFEST)


def test_submit_does_not_wait(fake_cloud, current) -> None:
    assert run(compute.submit, FRAME, TARGET, on=SPECS) == fake_cloud.query_id
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)
    fake_cloud.query.await_result.assert_not_called()


def test_a_query_past_the_timeout_is_cancelled_and_named(fake_cloud, current, monkeypatch) -> None:
    monkeypatch.setenv(settings.env_var("query_timeout_s"), "0.05")
    fake_cloud.running()
    with pytest.raises(
        compute.QueryTimedOut, match=f"{fake_cloud.query_id} did not finish within 0.05 s"
    ):
        run(compute.sink, FRAME, TARGET, on=MANIFEST)
    fake_cloud.query.cancel.assert_called_once_with()
    fake_cloud.query.await_result.assert_not_called()


def test_the_wait_polls_until_the_query_is_done(fake_cloud, current) -> None:
    fake_cloud.running(polls=2)
    assert run(compute.sink, FRAME, TARGET, on=MANIFEST) == fake_cloud.query_id
    assert fake_cloud.query.get_status.call_count == 3
    fake_cloud.query.await_result.assert_called_once_with(raise_on_failure=False)


def test_the_fake_reports_the_final_status_to_every_poll_after_the_scripted_ones(
    fake_cloud,
) -> None:
    """As the service does: a query asked again once done (by a trigger, a retry, a second
    wait) still answers its final status instead of running out of answers."""
    fake_cloud.finish(pc.QueryStatus.FAILED)
    fake_cloud.running(polls=2)
    statuses = [fake_cloud.query.get_status() for _ in range(5)]
    assert statuses == [pc.QueryStatus.INPROGRESS] * 2 + [pc.QueryStatus.FAILED] * 3


@pytest.mark.parametrize(
    "interruption",
    [
        pytest.param(AirflowTaskTimeout("Timeout, PID: 42"), id="execution_timeout"),
        pytest.param(ConnectionError("connection reset while polling"), id="lost_connection"),
    ],
)
def test_a_wait_cut_short_cancels_the_query(fake_cloud, current, interruption) -> None:
    """When the task goes down while its query runs, the query must not run on: a retry would
    race it for the same partition."""
    fake_cloud.query.get_status.side_effect = interruption
    with pytest.raises(type(interruption)) as caught:
        run(compute.sink, FRAME, TARGET, on=MANIFEST)
    assert caught.value is interruption
    fake_cloud.query.cancel.assert_called_once_with()
    assert f"Polars query {fake_cloud.query_id} was cancelled." in caught.value.__notes__


def test_a_timeout_reported_as_runtime_error_is_the_query_timeout(fake_cloud, current) -> None:
    """Direct mode: the compiled client reports an expired POLARS_TIMEOUT_MS as RuntimeError
    ("... Timeout expired") more often than as TimeoutError (seen 3 times in 4)."""
    fake_cloud.query.await_result.side_effect = RuntimeError(
        "Error calling gRPC endpoint, The operation was cancelled, Timeout expired"
    )
    with pytest.raises(compute.QueryTimedOut, match=fake_cloud.query_id):
        run(compute.sink, FRAME, TARGET, on=MANIFEST)
    fake_cloud.query.cancel.assert_called_once_with()


def test_other_runtime_errors_are_not_mistaken_for_a_timeout(fake_cloud, current) -> None:
    fake_cloud.query.await_result.side_effect = RuntimeError("context status is STOPPING")
    with pytest.raises(RuntimeError, match="STOPPING"):
        run(compute.sink, FRAME, TARGET, on=MANIFEST)


def test_a_cancel_that_never_answers_does_not_hold_the_task(
    fake_cloud, current, monkeypatch
) -> None:
    """cancel() blocked > 10 s against a server that never answers: the task waits for the
    answer at most CANCEL_TIMEOUT_S, then fails with its own error."""
    from polars_cloud_provider.engines import backend

    monkeypatch.setenv(settings.env_var("query_timeout_s"), "0.01")
    monkeypatch.setattr(backend, "CANCEL_TIMEOUT_S", 0.05)
    released = threading.Event()
    fake_cloud.running()
    fake_cloud.query.cancel.side_effect = lambda: released.wait(60)
    outcome: list[BaseException] = []

    def sink() -> None:
        try:
            run(compute.sink, FRAME, TARGET, on=MANIFEST)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=sink, daemon=True)
    worker.start()
    worker.join(20)  # generous: the bound under test is 0.05 s
    released.set()
    assert not worker.is_alive(), "the task waited for an unanswered cancel"
    assert isinstance(outcome[0], compute.QueryTimedOut)
    fake_cloud.query.cancel.assert_called_once_with()


@pytest.mark.parametrize(
    ("tool", "here", "recorded"), [("python", "3.11.9", "3.11.7"), ("polars", "2.0.0", "1.31.0")]
)
def test_a_worker_on_another_python_patch_fails_saying_to_register_from_the_workers(
    fake_cloud, current, tool, here, recorded
) -> None:
    """A rolling deploy moved the workers to another Python patch: Polars Cloud refuses the
    manifest (context/compute.py l.404-410, its own words below) to every task. The task
    says so, with both versions and what to run: not "make manifests", which registers
    from a laptop's Python."""
    from airflow.sdk.exceptions import AirflowFailException
    from polars_cloud.polars_cloud import ComputeClusterMisspecified

    fake_cloud.ComputeContext.side_effect = ComputeClusterMisspecified(
        f"locally installed {tool} version ({here}) does not match {tool} version specified "
        f"in manifest ({recorded})"
    )
    with pytest.raises(AirflowFailException) as caught:
        run(compute.sink, FRAME, TARGET, on=MANIFEST)
    message = str(caught.value)
    name = "Python" if tool == "python" else tool
    assert isinstance(caught.value, ManifestDrift)
    assert f"This worker runs {name} {here}" in message
    assert f"registered from {name} {recorded}" in message
    assert "trigger the register_manifests DAG" in message and "clear the failed tasks" in message
    assert "make manifests" not in message
    fake_cloud.plan.sink_parquet.assert_not_called()


def test_manifest_drift_says_to_re_register(fake_cloud, current) -> None:
    from polars_cloud.polars_cloud import ComputeClusterMisspecified

    fake_cloud.ComputeContext.side_effect = ComputeClusterMisspecified("polars 1.0 != 2.0")
    with pytest.raises(ManifestDrift, match="Re-register"):
        run(compute.sink, FRAME, TARGET, on=MANIFEST)


def test_cloud_scans_never_ship_the_workers_storage_credentials(
    fake_cloud, current, monkeypatch
) -> None:
    worker_keys = '{"aws_secret_access_key": "worker-only"}'  # pragma: allowlist secret
    monkeypatch.setenv(settings.env_var("storage_options"), worker_keys)
    seen = []
    monkeypatch.setattr(
        pl, "scan_parquet", lambda uris, storage_options=None: seen.append(storage_options)
    )

    run(compute.scan_parquet, "s3://bucket/x/*.parquet")
    assert seen == [None]


def test_helpers_outside_authenticate_say_what_to_do(fake_cloud) -> None:
    with pytest.raises(compute.NotAuthenticated, match="@authenticate"):
        compute.sink(FRAME, TARGET, on=MANIFEST)
    fake_cloud.ComputeContext.assert_not_called()


@pytest.mark.parametrize(
    "status",
    [
        pc.ComputeContextStatus.UNINITIALIZED,
        pc.ComputeContextStatus.STOPPED,
        pc.ComputeContextStatus.FAILED,
    ],
    ids=lambda s: s.name,
)
def test_shutdown_with_nothing_running_succeeds(fake_cloud, current, status) -> None:
    fake_cloud.cluster(status)
    assert run(compute.shutdown, MANIFEST) is False
    fake_cloud.context.stop.assert_not_called()


def test_shutdown_stops_a_live_cluster(fake_cloud, current) -> None:
    fake_cloud.cluster(pc.ComputeContextStatus.IDLE)
    assert run(compute.shutdown, MANIFEST) is True
    fake_cloud.ComputeContext.assert_called_once_with(workspace=WORKSPACE, name=MANIFEST.name)
    fake_cloud.context.stop.assert_called_once_with()


def test_shutdown_refuses_an_unnamed_cluster(fake_cloud, current) -> None:
    with pytest.raises(TypeError, match="named manifest"):
        run(compute.shutdown, SPECS)


@authenticate
def query_inside_immediate_shutdown(fail_with: Exception | None = None) -> str:
    with compute.immediate_shutdown(SPECS) as cluster:
        query_id = compute.sink(FRAME, TARGET, on=cluster)
        if fail_with is not None:
            raise fail_with
    return query_id


def test_immediate_shutdown_stops_after_the_block(fake_cloud, current) -> None:
    assert query_inside_immediate_shutdown() == fake_cloud.query_id
    fake_cloud.ComputeContext.assert_called_once()  # one cluster for the whole block
    fake_cloud.context.stop.assert_called_once_with()


def test_immediate_shutdown_reports_the_original_error(fake_cloud, current, caplog) -> None:
    fake_cloud.context.stop.side_effect = RuntimeError("nothing to stop, context is not running")
    original = KeyError("the error the task should report")
    with pytest.raises(KeyError) as caught:
        query_inside_immediate_shutdown(fail_with=original)
    assert caught.value is original
    fake_cloud.context.stop.assert_called_once_with()
    assert "Could not stop the cluster" in caplog.text


def test_immediate_shutdown_after_a_failed_query_reports_the_query(fake_cloud, current) -> None:
    fake_cloud.finish(pc.QueryStatus.CANCELED)
    with pytest.raises(compute.QueryFailed, match="CANCELED"):
        query_inside_immediate_shutdown()
    fake_cloud.context.stop.assert_called_once_with()


def test_immediate_shutdown_with_no_query_run_succeeds(fake_cloud, current, caplog) -> None:
    fake_cloud.cluster(pc.ComputeContextStatus.UNINITIALIZED)
    caplog.set_level(logging.INFO)

    @authenticate
    def nothing_to_do() -> None:
        with compute.immediate_shutdown(SPECS):
            pass

    nothing_to_do()
    fake_cloud.context.stop.assert_not_called()
    assert "No live cluster to stop" in caplog.text


def test_rejected_credentials_fail_without_retries(fake_cloud, cloud_connection) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    fake_cloud.authenticate.side_effect = RuntimeError("401 Unauthorized: invalid_client")
    with pytest.raises(AirflowFailException, match="did not accept"):
        run(compute.sink, FRAME, TARGET, on=MANIFEST)


@pytest.mark.parametrize(
    "unreachable",
    [
        ConnectionError("error sending request: connect"),
        # What polars-cloud 0.12 raised here, run without network (unshare -rn):
        AuthLoadError(
            'Error getting access token: Reqwest(reqwest::Error { kind: Request, url: "https:'
            '//auth.prd.cloud.pola.rs/realms/Polars/protocol/openid-connect/token", source: '
            'hyper_util::client::legacy::Error(Connect, ConnectError("dns error", Custom { '
            'kind: Uncategorized, error: "failed to lookup address information: Temporary '
            'failure in name resolution" })) })'
        ),
    ],
    ids=["ConnectionError", "AuthLoadError-dns"],
)
def test_an_unreachable_login_is_retried(fake_cloud, cloud_connection, unreachable) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    fake_cloud.authenticate.side_effect = unreachable
    with pytest.raises(compute.ComputeError, match="Could not reach") as caught:
        run(compute.sink, FRAME, TARGET, on=MANIFEST)
    assert not isinstance(caught.value, AirflowFailException)


def test_an_unknown_workspace_is_named_and_not_retried(fake_cloud, current) -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from polars_cloud.exceptions import WorkspaceResolveError

    fake_cloud.ComputeContext.side_effect = WorkspaceResolveError("Workspace does not exist")
    with pytest.raises(AirflowFailException, match=repr(WORKSPACE)) as caught:
        run(compute.sink, FRAME, TARGET, on=SPECS)
    assert "connection's extra 'workspace'" in str(caught.value)


def test_a_directory_whose_name_has_a_dot_is_a_directory(fake_cloud, current) -> None:
    """polars-cloud looks only after the last "/" (query/_utils.py): s3://b/v1.2/ is fine."""
    run(compute.sink, FRAME, "s3://bucket/v1.2/", on=MANIFEST)
    fake_cloud.plan.sink_parquet.assert_called_once_with("s3://bucket/v1.2/")


def test_a_sibling_waits_for_a_named_cluster_that_is_starting(fake_cloud, current) -> None:
    """spawn starts (and waits for) a cluster only when the context has no compute id: a
    context bound while a sibling's start is under way would submit at once."""
    fake_cloud.cluster(
        pc.ComputeContextStatus.STARTING,
        pc.ComputeContextStatus.STARTING,
        pc.ComputeContextStatus.RUNNING,
    )
    submitted_at: list[int] = []
    fake_cloud.plan.sink_parquet.side_effect = lambda uri: (
        submitted_at.append(fake_cloud.context.get_status.call_count) or fake_cloud.query
    )
    run(compute.sink, FRAME, TARGET, on=MANIFEST)
    assert submitted_at == [3], "submitted before the cluster was running"


def test_a_cluster_that_never_starts_fails_with_a_bound(fake_cloud, current, monkeypatch) -> None:
    from polars_cloud_provider.engines.cloud import ClusterNotReady

    monkeypatch.setenv(settings.env_var("cluster_start_timeout_s"), "0.05")
    fake_cloud.cluster(pc.ComputeContextStatus.STARTING)
    with pytest.raises(ClusterNotReady, match=f"{MANIFEST.name!r}.*STARTING after 0.05 s"):
        run(compute.sink, FRAME, TARGET, on=MANIFEST)
    fake_cloud.plan.sink_parquet.assert_not_called()


def test_a_cluster_being_stopped_is_replaced_by_a_fresh_one(fake_cloud, current) -> None:
    fake_cloud.cluster(pc.ComputeContextStatus.STOPPING, pc.ComputeContextStatus.STOPPED)
    run(compute.sink, FRAME, TARGET, on=MANIFEST)
    lookup = {"workspace": WORKSPACE, "name": MANIFEST.name}
    assert [c.kwargs for c in fake_cloud.ComputeContext.call_args_list] == [lookup, lookup]


def test_a_query_carries_its_airflow_identity_as_labels(fake_cloud, current) -> None:
    from polars_cloud_provider.compute import execution

    task_run = execution.TaskRun(
        dag_id="a_dag",
        task_id="a_task_with_a_long_name_" + "x" * 40,
        run_id="scheduled__2026-01-01T00:00:00+00:00",
        try_number=2,
        series=1,
    )
    with execution.running(task_run):
        run(compute.sink, FRAME, TARGET, on=MANIFEST)
    [labels] = fake_cloud.LazyFrameRemote.return_value.labels.call_args.args
    assert labels[:3] == ["airflow", "dag:a_dag", labels[2]]
    assert all(0 < len(label.encode()) <= 32 for label in labels) and len(labels) <= 64
    # Too long: a prefix, "~" and 8 hex digits of the whole text's hash (stable, distinct).
    assert re.fullmatch(r"task:a_task_with_a_long~[0-9a-f]{8}", labels[2])
    assert len(labels) == 3  # the run and the try are no labels (test_polars_task.py says why)
    assert execution.fit_label(task_run.labels()[2]) == labels[2]
    assert execution.fit_label("task:a_task_with_a_long_name_y") != labels[2]
    multibyte = execution.fit_label("run:" + "é" * 40)  # cut on a character boundary
    assert len(multibyte.encode()) <= 32 and multibyte.startswith("run:é")


def _reference_of_a_started_query(fake_cloud, current) -> dict:
    from polars_cloud_provider.engines.cloud import CloudBackend

    chosen = CloudBackend()
    chosen.workspace = WORKSPACE  # what the hook sets from the connection's extra
    handle = chosen.connect(MANIFEST, current)
    return chosen.reference(chosen.start(handle, FRAME, compute.DISTRIBUTED, TARGET))


def test_a_direct_query_is_found_again_through_its_cluster(fake_cloud, current) -> None:
    """ComputeContext defaults to direct mode (context/compute.py l.429): spawn returns a
    DirectQuery, which only the cluster's scheduler knows. Reattach builds a DirectQuery on
    the cluster (by its id), never a ProxyQuery asking the control plane."""
    from uuid import UUID

    from polars_cloud_provider.engines.cloud import CloudBackend

    reference = _reference_of_a_started_query(fake_cloud, current)
    assert reference == {
        "backend": "cloud",
        "query_id": fake_cloud.query_id,
        "workspace_id": fake_cloud.workspace_id,
        "compute_id": fake_cloud.compute_id,
        "mode": "direct",
    }
    chosen = CloudBackend()
    found = chosen.reattach(reference)
    fake_cloud.ComputeContext.connect.assert_not_called()  # the triggerer's loop: no call
    assert chosen.status(found) == "SUCCESS"
    fake_cloud.ComputeContext.connect.assert_called_once_with(
        fake_cloud.compute_id, workspace=UUID(fake_cloud.workspace_id)
    )
    fake_cloud.DirectQuery.assert_called_once_with(
        UUID(fake_cloud.query_id),
        fake_cloud.context._get_direct_client.return_value,
        fake_cloud.context,
    )
    fake_cloud.ProxyQuery.assert_not_called()
    assert chosen.link(reference) == (
        f"https://cloud.pola.rs/portal/{fake_cloud.workspace_id}/{fake_cloud.compute_id}"
        f"/queries/{fake_cloud.query_id}"
    )


def test_a_proxy_query_is_found_again_through_the_control_plane(fake_cloud, current) -> None:
    from uuid import UUID

    from polars_cloud.query import ProxyQuery
    from polars_cloud_provider.engines.cloud import CloudBackend

    proxied = create_autospec(ProxyQuery, instance=True)  # what spawn returns in proxy mode
    proxied._query_id = UUID(fake_cloud.query_id)
    proxied.get_status.return_value = pc.QueryStatus.INPROGRESS
    fake_cloud.by_id[fake_cloud.query_id] = proxied
    fake_cloud.context.connection_mode = "proxy"
    fake_cloud.plan.sink_parquet.return_value = proxied

    reference = _reference_of_a_started_query(fake_cloud, current)
    assert reference["mode"] == "proxy"
    chosen = CloudBackend()
    assert chosen.status(chosen.reattach(reference)) == "INPROGRESS"
    fake_cloud.ProxyQuery.assert_called_once_with(
        UUID(fake_cloud.query_id), UUID(fake_cloud.workspace_id)
    )
    fake_cloud.DirectQuery.assert_not_called()
    fake_cloud.ComputeContext.connect.assert_not_called()


@pytest.mark.parametrize(("mode", "built"), [("direct", "DirectQuery"), ("proxy", "ProxyQuery")])
def test_a_reference_without_a_mode_takes_its_clusters_mode(fake_cloud, mode, built) -> None:
    """References written before the mode was recorded: the cluster says which it is
    (``_get_direct_client`` is None unless it is in direct mode, context/compute.py l.818)."""
    from polars_cloud_provider.engines.cloud import CloudBackend

    if mode == "proxy":
        fake_cloud.context._get_direct_client.return_value = None
    reference = {
        "backend": "cloud",
        "query_id": fake_cloud.query_id,
        "workspace_id": fake_cloud.workspace_id,
        "compute_id": fake_cloud.compute_id,
    }
    chosen = CloudBackend()
    assert chosen.status(chosen.reattach(reference)) == "SUCCESS"
    getattr(fake_cloud, built).assert_called_once()


def test_a_direct_query_whose_cluster_stopped_is_gone_and_a_stopping_one_unreadable(
    fake_cloud,
) -> None:
    """``ComputeContext.connect`` refuses a cluster that is not available (compute.py l.714):
    STOPPED/FAILED means the query runs no more (a retry may submit again); STOPPING and an
    unreachable control plane mean it cannot be read (never "gone")."""
    from polars_cloud_provider.compute.errors import QueryNotFound
    from polars_cloud_provider.engines.cloud import CloudBackend

    def reattached(status: pc.ComputeContextStatus | None) -> object:
        refusal = f"Context is in an incorrect state: {status}"  # the library's f-string
        fake_cloud.ComputeContext.connect.side_effect = (
            UNREACHABLE if status is None else RuntimeError(refusal)
        )
        reference = {
            "backend": "cloud",
            "query_id": fake_cloud.query_id,
            "workspace_id": fake_cloud.workspace_id,
            "compute_id": fake_cloud.compute_id,
            "mode": "direct",
        }
        return CloudBackend().reattach(reference)

    chosen = CloudBackend()
    for gone in (pc.ComputeContextStatus.STOPPED, pc.ComputeContextStatus.FAILED):
        query = reattached(gone)
        assert chosen.status(query) == "UNKNOWN"
        chosen.cancel(query)  # nothing left to cancel: no error
        with pytest.raises(QueryNotFound):
            chosen.outcome(query)
    with pytest.raises(RuntimeError, match="incorrect state"):
        chosen.status(reattached(pc.ComputeContextStatus.STOPPING))
    with pytest.raises(RuntimeError, match="error sending request"):
        chosen.status(reattached(None))
    fake_cloud.DirectQuery.assert_not_called()
    fake_cloud.ProxyQuery.assert_not_called()


def test_a_cold_cluster_start_is_bounded_and_the_cluster_stopped(
    fake_cloud, current, monkeypatch
) -> None:
    """spawn starts a context without a compute id and, in direct mode, waits for it with no
    bound (context/compute.py l.620, l.912): the task starts it itself, waits at most
    cluster_start_timeout_s, then stops the cluster it started and fails (retried)."""
    from uuid import UUID

    from airflow.sdk.exceptions import AirflowFailException
    from polars_cloud_provider.engines.cloud import ClusterNotReady

    monkeypatch.setenv(settings.env_var("cluster_start_timeout_s"), "0.05")
    fake_cloud.context._compute_id = None  # an unnamed cluster, not started yet
    release = threading.Event()

    def start_that_never_ends(**_) -> None:
        fake_cloud.context._compute_id = UUID(fake_cloud.compute_id)  # start() sets it first
        release.wait(600)

    fake_cloud.context.start.side_effect = start_that_never_ends
    try:
        with pytest.raises(
            ClusterNotReady, match=r"did not start within 0\.05 s.*was stopped"
        ) as e:
            run(compute.sink, FRAME, TARGET, on=SPECS)
    finally:
        release.set()
    assert not isinstance(e.value, AirflowFailException)  # retried
    fake_cloud.context.start.assert_called_once_with()
    fake_cloud.context.stop.assert_called_once_with()
    fake_cloud.plan.sink_parquet.assert_not_called()


def test_a_cluster_that_starts_in_time_takes_the_query(fake_cloud, current) -> None:
    from uuid import UUID

    fake_cloud.context._compute_id = None

    def start(**_) -> None:
        fake_cloud.context._compute_id = UUID(fake_cloud.compute_id)

    fake_cloud.context.start.side_effect = start
    assert run(compute.sink, FRAME, TARGET, on=SPECS) == fake_cloud.query_id
    fake_cloud.context.start.assert_called_once_with()
    fake_cloud.context.stop.assert_not_called()


@pytest.mark.parametrize("before", [None, "5000"])
def test_polars_timeout_ms_is_set_only_while_results_are_fetched(
    fake_cloud, monkeypatch, before
) -> None:
    """polars-cloud reads POLARS_TIMEOUT_MS from the environment on every wait
    (query_in_progress.py l.57-61). Two overlapping fetches in two threads: each sees the
    bound while it waits, and afterwards the variable is what it was before (unset or the
    user's), not the bound left behind by the fetch that finished last."""
    import os

    from polars_cloud_provider.engines.cloud import RESULT_TIMEOUT_S, CloudBackend, CloudQuery

    if before is None:
        monkeypatch.delenv("POLARS_TIMEOUT_MS", raising=False)
    else:
        monkeypatch.setenv("POLARS_TIMEOUT_MS", before)
    bound = str(int(RESULT_TIMEOUT_S * 1000))
    queries = {"a": fake_cloud.query, "b": fake_cloud.another_query(EARLIER_ID)}
    entered = {name: threading.Event() for name in queries}
    release = {name: threading.Event() for name in queries}
    seen: dict[str, str | None] = {}
    for name, query in queries.items():

        def fetch(name: str = name, **_) -> object:
            seen[name] = os.environ.get("POLARS_TIMEOUT_MS")
            entered[name].set()
            release[name].wait(600)
            return fake_cloud.result

        query.await_result.side_effect = fetch
    threads = {
        name: threading.Thread(
            target=CloudBackend().outcome,
            args=(CloudQuery(query, str(query._query_id), fake_cloud.workspace_id, None),),
        )
        for name, query in queries.items()
    }
    try:
        threads["a"].start()
        assert entered["a"].wait(600)
        threads["b"].start()
        assert entered["b"].wait(600)
        release["a"].set()
        threads["a"].join(600)
        while_b_waits = os.environ.get("POLARS_TIMEOUT_MS")
    finally:
        for event in release.values():
            event.set()
        for thread in threads.values():
            thread.join(600)
    assert os.environ.get("POLARS_TIMEOUT_MS") == before, "left behind by the last fetch"
    assert seen == {"a": bound, "b": bound}
    assert while_b_waits == bound, "taken away from a fetch still waiting"


# The workspace: the cluster's own, else the connection's extra, else a clear failure.


@pytest.mark.parametrize(
    ("cluster", "arguments"),
    [
        (
            compute.Manifest("etl-small", workspace="finance"),
            {"workspace": "finance", "name": "etl-small"},
        ),
        (
            compute.Specs(cpus=2, memory_gb=8, workspace="finance"),
            {
                "workspace": "finance",
                "cpus": 2,
                "memory": 8,
                "cluster_size": 1,
                "idle_timeout_mins": 10,
            },
        ),
    ],
    ids=["manifest", "specs"],
)
def test_the_clusters_own_workspace_wins_over_the_connections(
    fake_cloud, current, cluster, arguments
) -> None:
    run(compute.sink, FRAME, TARGET, on=cluster)
    fake_cloud.ComputeContext.assert_called_once_with(**arguments)


@pytest.mark.parametrize(
    "extra",
    [{"workspace": "analytics"}, {"extra__polars_cloud__workspace": "analytics"}],
    ids=["plain", "prefixed"],
)
def test_the_connections_workspace_extra_names_the_clusters_workspace(
    fake_cloud, polars_cloud_connection, extra
) -> None:
    polars_cloud_connection(login="id", password="secret", extra=extra)  # pragma: allowlist secret
    run(compute.sink, FRAME, TARGET, on=MANIFEST)
    fake_cloud.ComputeContext.assert_called_once_with(workspace="analytics", name=MANIFEST.name)


@pytest.mark.parametrize("cluster", [MANIFEST, SPECS], ids=["manifest", "specs"])
def test_a_cluster_with_no_workspace_anywhere_fails_naming_both_places(
    fake_cloud, polars_cloud_connection, cluster
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    polars_cloud_connection(login="id", password="secret")  # pragma: allowlist secret
    with pytest.raises(compute.ComputeError) as caught:
        run(compute.sink, FRAME, TARGET, on=cluster)
    message = str(caught.value)
    assert "No Polars Cloud workspace" in message
    assert 'the connection the extra {"workspace": "<name>"}' in message
    assert "workspace= to the Manifest or Specs" in message
    assert isinstance(caught.value, AirflowFailException)  # retrying cannot find one
    fake_cloud.ComputeContext.assert_not_called()


EARLIER_ID = "0197a1b2-0000-7000-8000-0000000000e4"
# What polars-cloud 0.12 raised for ProxyQuery.get_status() when the control plane could not
# be reached (a loopback address with nothing listening, unshare -rn).
UNREACHABLE = RuntimeError(
    "Error calling REST endpoint: error sending request for url (http://127.0.0.1:9/api/v1/"
    f"workspace/0197a1b2-0000-7000-8000-0000000000a1/query/{EARLIER_ID})\n"
    f"http://127.0.0.1:9/api/v1/workspace/0197a1b2-0000-7000-8000-0000000000a1/query/{EARLIER_ID}"
    "\nclient error (Connect)"
)


def _retry_of_a_try_that_left(fake_cloud):
    """Try 2 of a task whose try 1 submitted query EARLIER_ID and ended before it finished;
    returns (the earlier query, the task run)."""
    from polars_cloud_provider.compute import execution

    class Store(dict):
        def set(self, key, value, **_) -> None:
            self[key] = value

    earlier = fake_cloud.another_query(EARLIER_ID)
    step = {
        "kind": "sink",
        "target": TARGET,
        "reference": {
            "backend": "cloud",
            "query_id": EARLIER_ID,
            "workspace_id": fake_cloud.workspace_id,
            "compute_id": fake_cloud.compute_id,
        },
    }
    store = Store({execution.QUERY_KEY: {"series": 1, **step}})
    task_run = execution.TaskRun("d", "t", "r", try_number=2, series=1, store=store)
    return earlier, task_run


def _sink_in(task_run) -> str:
    from polars_cloud_provider.compute import execution

    with execution.running(task_run):
        return run(compute.sink, FRAME, TARGET, on=MANIFEST)


def test_a_retry_never_submits_beside_a_query_whose_status_cannot_be_read(
    fake_cloud, current
) -> None:
    """Unreadable is not gone: a retry that read it as UNKNOWN would submit a second copy
    while the first may still run (and bill). It cancels (bounded), asks again, and fails
    naming the query, retried."""
    from airflow.sdk.exceptions import AirflowFailException

    earlier, task_run = _retry_of_a_try_that_left(fake_cloud)
    earlier.get_status.side_effect = UNREACHABLE

    with pytest.raises(compute.ComputeError, match=EARLIER_ID) as caught:
        _sink_in(task_run)
    assert not isinstance(caught.value, AirflowFailException)
    assert "not submitted a second time" in str(caught.value)
    assert "Failure transient (status unreadable)" in caught.value.__notes__[0]
    earlier.cancel.assert_called_once_with()
    fake_cloud.plan.sink_parquet.assert_not_called()


def test_a_retry_submits_again_once_the_cancelled_query_is_known_finished(
    fake_cloud, current
) -> None:
    earlier, task_run = _retry_of_a_try_that_left(fake_cloud)
    earlier.get_status.side_effect = [UNREACHABLE, pc.QueryStatus.CANCELED]

    assert _sink_in(task_run) == fake_cloud.query_id
    earlier.cancel.assert_called_once_with()
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)


def test_a_retry_submits_again_when_polars_cloud_answers_not_found(fake_cloud, current) -> None:
    """A 404 confirms the query is absent: nothing runs beside the new one (as BigQuery's
    operator resubmits only on NotFound)."""
    from polars_cloud.polars_cloud import NotFoundError

    earlier, task_run = _retry_of_a_try_that_left(fake_cloud)
    earlier.get_status.side_effect = NotFoundError(
        '{\n  "message": "Status 404 Not Found with body: ",\n  "errors": {}\n}'
    )

    assert _sink_in(task_run) == fake_cloud.query_id
    earlier.cancel.assert_not_called()
    fake_cloud.plan.sink_parquet.assert_called_once_with(TARGET)


def test_a_direct_query_the_cluster_does_not_know_is_gone_not_unreadable(fake_cloud) -> None:
    from polars_cloud_provider.engines.cloud import CloudBackend, CloudQuery

    fake_cloud.query.get_status.side_effect = RuntimeError(
        "Error calling gRPC endpoint, Some requested entity was not found, stub says no"
    )
    found = CloudQuery(fake_cloud.query, fake_cloud.query_id, fake_cloud.workspace_id, None)
    assert CloudBackend().status(found) == "UNKNOWN"
    fake_cloud.query.get_status.side_effect = UNREACHABLE
    with pytest.raises(RuntimeError, match="error sending request"):
        CloudBackend().status(found)
