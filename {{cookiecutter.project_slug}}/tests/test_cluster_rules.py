"""The cluster rules catch each way a DAG can leave a cluster running, or stop one under
another run, and each message names the fix (small DAGs built here, not the ones in dags/)."""

from __future__ import annotations

from datetime import UTC, datetime

import cluster_rules
import pytest
from airflow.sdk import DAG, TriggerRule, task, teardown
from polars_cloud_provider import compute
from polars_cloud_provider.decorators.polars_task import polars_task, shutdown_cluster
from polars_cloud_provider.hooks.polars_cloud import authenticate
from polars_cloud_provider.manifests.spec import ManifestSpec

from {{ cookiecutter.package_name }} import assets

SHARED = compute.Manifest("shared")
OWN = compute.Manifest("own")
DECLARED = {
    name: ManifestSpec(name=name, workspace="w", cpus=2, memory_gb=4, idle_timeout_mins=idle)
    for name, idle in (("shared", 10), ("own", None), ("own-short", 10))
}


def build(dag_id: str, body, schedule=None, **dag_kwargs) -> DAG:
    start = datetime(2024, 2, 1, tzinfo=UTC)
    with DAG(dag_id, schedule=schedule, start_date=start, **dag_kwargs) as dag:
        body()
    return dag


def query_on(cluster, task_id: str = "query", outlets=()):
    @polars_task(task_id=task_id, outlets=list(outlets) or [assets.output(task_id)])
    def query() -> str:
        return compute.sink(None, "s3://b/out/", on=cluster)

    return query()


def found(*dags: DAG, declared=DECLARED) -> dict[str, list[str]]:
    return cluster_rules.problems(dags, declared)


def test_well_formed_dags_break_no_rule() -> None:
    shared_1 = build("shared_1", lambda: query_on(SHARED))
    shared_2 = build("shared_2", lambda: query_on(SHARED))
    own = build("own", lambda: query_on(OWN) >> shutdown_cluster(OWN), max_active_runs=1)
    assert found(shared_1, shared_2, own) == {rule: [] for rule in cluster_rules.RULES}


def test_a_shared_manifest_stopped_by_one_dag_names_the_others() -> None:
    stops = build(
        "stops_it", lambda: query_on(SHARED) >> shutdown_cluster(SHARED), max_active_runs=1
    )
    other = build("other_user", lambda: query_on(SHARED))
    [message] = found(stops, other)["stopping"]
    assert "stops manifest 'shared', which other_user also uses" in message
    assert "give stops_it a manifest of its own" in message


def test_two_runs_of_one_dag_would_stop_each_others_cluster() -> None:
    with pytest.raises(ValueError, match="max_active_runs=1"):
        build("many_runs", lambda: query_on(OWN) >> shutdown_cluster(OWN))

    def custom_shutdown():
        @teardown
        @authenticate
        def stop() -> bool:
            return compute.shutdown(OWN)

        query_on(OWN) >> stop()

    [message] = found(build("many_runs", custom_shutdown))["stopping"]
    assert "max_active_runs=16" in message and "Pass max_active_runs=1" in message


def test_an_all_done_shutdown_is_told_to_be_the_teardown() -> None:
    def all_done():
        @task(trigger_rule=TriggerRule.ALL_DONE)
        @authenticate
        def stop() -> bool:
            return compute.shutdown(OWN)

        query_on(OWN) >> stop()

    problems = found(build("all_done", all_done, max_active_runs=1))
    assert any(
        "is not a teardown" in m and "make it the teardown `shutdown_cluster(...)`" in m.lower()
        for m in problems["stopping"]
    ), problems["stopping"]


def test_no_shutdown_at_all_names_both_fixes() -> None:
    [message] = found(build("never_stops", lambda: query_on(OWN)))["bounded"]
    assert "manifest 'own' that nothing stops" in message
    assert "60 min (Polars Cloud default)" in message
    assert "idle_timeout_mins <= " in message and "shutdown_cluster(CLUSTER)" in message


def test_a_shutdown_that_is_not_downstream_of_every_query() -> None:
    def half():
        first = query_on(OWN, "first")
        query_on(OWN, "second")
        first >> shutdown_cluster(OWN)

    [message] = found(build("half", half, max_active_runs=1))["stopping"]
    assert message.startswith("half.second runs a query on manifest 'own'")
    assert "`second >> shutdown_cluster`" in message


def test_an_unnamed_cluster_outside_immediate_shutdown() -> None:
    unnamed = compute.Specs(cpus=1, memory_gb=1)
    [message] = found(build("unnamed", lambda: query_on(unnamed)))["bounded"]
    assert "compute.immediate_shutdown(CLUSTER)" in message


def test_an_undeclared_manifest_says_what_to_add() -> None:
    [message] = found(build("typo", lambda: query_on(compute.Manifest("shraed"))))["declared"]
    assert "'shraed', which manifests.toml does not declare" in message
    assert 'name = "shraed"' in message


def test_a_plain_task_cannot_cancel_on_sigterm() -> None:
    def plain():
        @task
        @authenticate
        def query() -> str:
            return compute.sink(None, "s3://b/out/", on=SHARED)

        query()

    [message] = found(build("plain", plain))["decorator"]
    assert "plain @task" in message and "SIGTERM" in message and "@polars_task" in message


def test_a_sink_without_an_outlet_and_a_submit_with_one() -> None:
    def body():
        @polars_task
        def sinks() -> str:
            return compute.sink(None, "s3://b/out/", on=SHARED)

        @polars_task(outlets=[assets.output("x")])
        def submits() -> str:
            cluster = compute.Specs(cpus=1, memory_gb=1, idle_timeout_mins=10)
            return compute.submit(None, "s3://b/x/", on=cluster)

        sinks()
        submits()

    messages = found(build("outlets", body))["outlets"]
    assert [m.split(" ")[0] for m in messages] == ["outlets.sinks", "outlets.submits"]


def test_a_dag_scheduled_on_an_asset_nobody_writes() -> None:
    orphan = build("orphan", lambda: query_on(SHARED), schedule=[assets.output("nobody")])
    [message] = found(orphan)["assets"]
    assert "scheduled on asset 'nobody'" in message


def test_an_asset_uri_with_a_scheme_is_refused_for_parse_time() -> None:
    from airflow.sdk import Asset

    slow = build("slow", lambda: query_on(SHARED, outlets=[Asset(name="s", uri="s3://b/s/")]))
    [message] = found(slow)["assets"]
    assert "slow.query declares asset 's'" in message and "assets.output" in message
