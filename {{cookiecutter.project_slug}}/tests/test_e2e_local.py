"""Every DAG in dags/, run end to end with dag.test() on the local backend: real Airflow,
real Polars, real files, sample data for whatever it reads (samples/).

What a DAG reads and writes is found by planning it (dag_plans.py), not from its name. Each
run is a rerun: before it, every output holds what an earlier run of the same day left and
what the run of the day before wrote. The run must replace the day's partitions (each holds
rows, in one file, and outputs listed in expected.py hold exactly the values computed there
independently) and leave every other day as it was. (That a day run again reruns its queries,
also on S3, and that a retry after the write rewrites too, are the provider's behaviour,
tested in its own suite.)
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from conftest import DAG_IDS, first_day, parsed_dag, run_dag
from dag_plans import DagPlan
from expected import OUTPUTS, assert_output_matches, output_name
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
def test_the_dag_runs_on_sample_data_and_fills_every_output(local_backend, dag_id) -> None:
    dag = parsed_dag(dag_id)
    root = local_backend / dag_id
    planned = plan_and_write_inputs(dag, first_day(dag), root)
    before = _earlier_runs(root, planned)

    with data_root(root):
        result = run_dag(dag_id)

    assert result.state == "success", result.report()
    assert set(result.states.values()) <= {"success", "skipped"}, result.report()
    for folder in planned.outputs:
        assert files_in(root, folder), f"{dag_id} wrote nothing to {folder}"
        frame = read(root, folder)
        assert "written_by" not in frame.columns, f"{dag_id} left an earlier run's file in {folder}"
        assert frame.height > 0, (
            f"{dag_id} wrote no rows to {folder}: make the sample data of what it reads "
            f"({', '.join(planned.inputs)}) hold rows its queries keep"
        )
        if output_name(folder) in OUTPUTS:
            assert_output_matches(frame, output_name(folder), sample_rows(result.ds))
    _assert_only_its_day_changed(planned, before, root)


def _assert_only_its_day_changed(planned: DagPlan, before: dict, root: Path) -> None:
    after = snapshot(root / "curated")
    days = tuple(f"{folder.removeprefix('curated/')}/" for folder in planned.outputs)
    untouched = {path: seen for path, seen in before.items() if not path.startswith(days)}
    assert {path: after.get(path) for path in untouched} == untouched, "it touched another day"
    added = [path for path, seen in after.items() if seen and path not in before]  # files
    assert [path for path in added if not path.startswith(days)] == [], "debris outside the day"
    for folder in planned.awaited_outputs:
        assert files_in(root, folder) == ["part-0.parquet"], f"{folder}: an earlier run's file"
