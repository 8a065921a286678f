"""Every DAG in dags/, run end to end with dag.test() on the local backend: real Airflow,
real Polars, real files, sample data for whatever it reads (samples/).

What a DAG reads and writes is found by planning it (dag_plans.py), not from its name: each
output partition must be there and hold rows, and outputs listed in expected.py must hold
exactly the values computed there independently, over what an earlier run of the day
left. Then the same date runs again: it rewrites the day's partitions with the same rows,
and nothing else changes. (That a retry after the write rewrites too is the provider's
behaviour, tested in its own suite.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from conftest import DAG_IDS, DagRunResult, first_day, parsed_dag, run_dag
from dag_plans import DagPlan
from expected import OUTPUTS, assert_output_matches, output_name
from polars.testing import assert_frame_equal
from polars_cloud_provider import settings as provider_settings
from sample_runs import data_root, files_in, plan_and_write_inputs, read, sample_rows, snapshot

from {{ cookiecutter.package_name }} import settings


@pytest.fixture(scope="module")
def local_backend(tmp_path_factory, airflow_db):
    """The local backend for the module, intermediate results under a fresh directory."""
    base = tmp_path_factory.mktemp("e2e")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(provider_settings.env_var("local_root"), str(base / "_intermediate"))
        conn_id = settings.load().conn_id
        connection = {"conn_type": "polars_cloud", "extra": {"backend": "local"}}
        patch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        yield base


@dataclass
class FirstRun:
    planned: DagPlan
    result: DagRunResult
    outputs: dict[str, tuple[list[str], pl.DataFrame]]  # folder -> files, rows
    before: dict  # what curated/ held before the run: earlier runs of this day and the last


@pytest.fixture(scope="module")
def first_run(local_backend):
    """Each DAG's first run for its start date, in a data root of its own (run once)."""
    done: dict[str, FirstRun] = {}

    def get(dag_id: str) -> FirstRun:
        if dag_id not in done:
            dag = parsed_dag(dag_id)
            root = local_backend / dag_id
            planned = plan_and_write_inputs(dag, first_day(dag), root)
            before = _earlier_runs(root, planned)
            with data_root(root):
                result = run_dag(dag_id)
            outputs = {
                folder: (files_in(root, folder), read(root, folder))
                for folder in planned.outputs
                if files_in(root, folder)
            }
            done[dag_id] = FirstRun(planned, result, outputs, before)
        return done[dag_id]

    return get


def _earlier_runs(root: Path, planned: DagPlan) -> dict:
    """Leave what earlier runs of this day and of the day before wrote in each output."""
    ds = planned.ds
    day_before = (date.fromisoformat(ds) - timedelta(days=1)).isoformat()
    for folder in planned.outputs:
        for day, by in ((ds, "an earlier run"), (day_before, "the day before")):
            earlier = root / folder.replace(f"ds={ds}", f"ds={day}") / "part-0.parquet"
            earlier.parent.mkdir(parents=True, exist_ok=True)
            pl.DataFrame({"written_by": [by]}).write_parquet(earlier)
    return snapshot(root / "curated")


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_dag_runs_on_sample_data_and_fills_every_output(
    first_run, local_backend, dag_id
) -> None:
    run = first_run(dag_id)

    assert run.result.state == "success", run.result.report()
    assert set(run.result.states.values()) <= {"success", "skipped"}, run.result.report()
    for folder in run.planned.outputs:
        assert folder in run.outputs, f"{dag_id} wrote nothing to {folder}"
        frame = run.outputs[folder][1]
        assert "written_by" not in frame.columns, f"{dag_id} left an earlier run's file in {folder}"
        assert frame.height > 0, (
            f"{dag_id} wrote no rows to {folder}: make the sample data of what it reads "
            f"({', '.join(run.planned.inputs)}) hold rows its queries keep"
        )
        if output_name(folder) in OUTPUTS:
            assert_output_matches(frame, output_name(folder), sample_rows(run.result.ds))
    _assert_only_its_day_changed(run.planned, run.before, local_backend / dag_id)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_a_rerun_rewrites_its_day_and_nothing_else(first_run, local_backend, dag_id) -> None:
    first = first_run(dag_id)
    assert first.result.state == "success", first.result.report()
    root = local_backend / dag_id
    after_first = snapshot(root / "curated")

    with data_root(root):
        again = run_dag(dag_id, first.result.ds)

    assert again.state == "success", again.report()
    for folder, (files, frame) in first.outputs.items():
        assert files_in(root, folder) == files, f"{folder}: the rerun added or left files"
        assert_frame_equal(read(root, folder), frame)
    after = snapshot(root / "curated")
    for folder in first.planned.awaited_outputs:
        part = f"{folder.removeprefix('curated/')}/part-0.parquet"
        assert after[part] != after_first[part], f"{folder}: the rerun did not rewrite it"
    _assert_only_its_day_changed(first.planned, after_first, root)


def _assert_only_its_day_changed(planned: DagPlan, before: dict, root: Path) -> None:
    after = snapshot(root / "curated")
    days = tuple(f"{folder.removeprefix('curated/')}/" for folder in planned.outputs)
    untouched = {path: seen for path, seen in before.items() if not path.startswith(days)}
    assert {path: after.get(path) for path in untouched} == untouched, "it touched another day"
    added = [path for path, seen in after.items() if seen and path not in before]  # files
    assert [path for path in added if not path.startswith(days)] == [], "debris outside the day"
    for folder in planned.awaited_outputs:
        assert files_in(root, folder) == ["part-0.parquet"], f"{folder}: an earlier run's file"
