"""Whole DAG runs through dag.test(): Polars Cloud played by the autospec fake, or the
local backend running real Polars on broken inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import polars_cloud as pc
import pytest
from conftest import run_dag
from dag_inspection import compute_calls, task_callable
from expected import DAG_OUTPUTS, assert_output_matches

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.dev import sample_data


def _dag_with_a_shutdown(dagbag):
    for dag in sorted(dagbag.dags.values(), key=lambda d: len(d.tasks)):
        for task in dag.tasks:
            fn = task_callable(task)
            if task.is_teardown and fn is not None and "shutdown" in compute_calls(fn):
                return dag
    pytest.skip("no DAG stops a cluster with a shutdown teardown")


def _assert_failed_but_shut_down(dag, run, states) -> None:
    teardowns = {t.task_id for t in dag.tasks if t.is_teardown}
    assert run.state == "failed", states
    assert "failed" in {states[t] for t in states if t not in teardowns}, states
    assert {states[t] for t in teardowns} == {"success"}, states


def test_a_failed_query_fails_the_run_and_the_cluster_still_stops(
    dagbag, airflow_db, fake_cloud, cloud_connection
) -> None:
    dag = _dag_with_a_shutdown(dagbag)
    fake_cloud.finish(pc.QueryStatus.FAILED)
    fake_cloud.cluster(pc.ComputeContextStatus.RUNNING)

    run, states = run_dag(dag.dag_id)

    _assert_failed_but_shut_down(dag, run, states)
    fake_cloud.context.stop.assert_called_once_with()


def test_a_successful_run_also_stops_the_cluster(
    dagbag, airflow_db, fake_cloud, cloud_connection
) -> None:
    dag = _dag_with_a_shutdown(dagbag)
    fake_cloud.cluster(pc.ComputeContextStatus.IDLE)

    run, states = run_dag(dag.dag_id)

    assert run.state == "success", states
    fake_cloud.context.stop.assert_called_once_with()


def test_a_query_failing_in_polars_fails_its_task_and_the_shutdown_still_runs(
    dagbag, airflow_db, local_connection, tmp_path, monkeypatch
) -> None:
    root = tmp_path / "data"
    for name in sample_data.sample_frames(rows=10):
        (root / "raw" / name).mkdir(parents=True)
        pl.DataFrame({"unexpected": [1]}).write_parquet(root / "raw" / name / "part-0.parquet")
    monkeypatch.setenv(settings.env_var("data_root"), str(root))
    dag = _dag_with_a_shutdown(dagbag)

    run, states = run_dag(dag.dag_id)

    _assert_failed_but_shut_down(dag, run, states)
    assert not (root / "curated").exists() or not any((root / "curated").rglob("*.parquet"))


RETRIED_DAG = {{ ("parallel_queries" if cookiecutter.include_example_dags else "orders_by_status") | tojson }}
"""A DAG whose query tasks read the raw inputs and each land a ds partition."""


def _snapshot(root: Path) -> dict[str, tuple[str, int, int] | None]:
    """Every entry under ``root``: files by content, modification time and inode."""
    entries = {}
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        entries[str(path.relative_to(root))] = (
            (hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_ino)
            if path.is_file()
            else None
        )
    return entries


def test_a_retry_rewrites_its_own_partition_and_nothing_else(
    airflow_db, local_connection, tmp_path, monkeypatch
) -> None:
    root = tmp_path / "data"
    monkeypatch.setenv(settings.env_var("data_root"), str(root))
    sample_data.write(str(root), rows=300)
    for ds in ("2026-01-01", "2026-01-02"):
        run, states = run_dag(RETRIED_DAG, ds)
        assert run.state == "success", (ds, states)
    before = _snapshot(root / "curated")

    # Rerun 2026-01-01 while each input has a second file of another schema: the queries
    # fail while running, once their sinks have started. The inputs are repaired (with other
    # data) while the failed tasks wait for their retry.
    strays = [root / "raw" / name / "part-1.parquet" for name in sample_data.sample_frames(1)]
    for stray in strays:
        pl.DataFrame({"unexpected": ["schema"]}).write_parquet(stray)
    repaired = {name: f.rows(named=True) for name, f in sample_data.sample_frames(500).items()}

    def repair(context) -> None:
        for stray in strays:
            stray.unlink(missing_ok=True)
        sample_data.write(str(root), rows=500)

    run, states = run_dag(RETRIED_DAG, "2026-01-01", retries=1, on_retry=repair)

    assert run.state == "success", states
    retried = {ti.task_id for ti in run.get_task_instances() if ti.try_number == 2}
    assert retried, "no task was retried: the test did not exercise a retry"
    after = _snapshot(root / "curated")
    assert sorted(after) == sorted(before), "a retry added or removed files or folders"
    rewritten = {path for path in after if "/ds=2026-01-01/" in path and after[path]}
    assert rewritten and all(after[p][0] != before[p][0] for p in rewritten)
    assert {p: after[p] for p in after if p not in rewritten} == {
        p: before[p] for p in before if p not in rewritten
    }, "a retry for 2026-01-01 touched another partition"
    for output in DAG_OUTPUTS[RETRIED_DAG]:
        frame = pl.read_parquet(root / "curated" / output / "ds=2026-01-01" / "part-0.parquet")
        assert_output_matches(frame, output, repaired)
