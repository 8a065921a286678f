"""Every DAG in dags/, run end to end with dag.test() on the local backend: real Airflow,
real Polars, real files, sample data for whatever it reads (dev/samples/).

What a DAG reads and writes is found by planning it (dag_plans.py), not from its name: each
output partition must be there and hold rows, and outputs listed in expected.py must hold
exactly the values computed there independently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl
import pytest
from conftest import DAG_IDS, DagRunResult, first_day, parsed_dag, run_dag
from dag_plans import DagPlan
from expected import OUTPUTS, assert_output_matches, output_name
from polars.testing import assert_frame_equal
from polars_cloud_provider import settings as provider_settings
from sample_runs import data_root, files_in, plan_and_write_inputs, read, sample_rows

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


@pytest.fixture(scope="module")
def first_run(local_backend):
    """Each DAG's first run for its start date, in a data root of its own (run once)."""
    done: dict[str, FirstRun] = {}

    def get(dag_id: str) -> FirstRun:
        if dag_id not in done:
            dag = parsed_dag(dag_id)
            root = local_backend / dag_id
            planned = plan_and_write_inputs(dag, first_day(dag), root)
            with data_root(root):
                result = run_dag(dag_id)
            outputs = {
                folder: (files_in(root, folder), read(root, folder))
                for folder in planned.outputs
                if files_in(root, folder)
            }
            done[dag_id] = FirstRun(planned, result, outputs)
        return done[dag_id]

    return get


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_dag_runs_on_sample_data_and_fills_every_output(first_run, dag_id) -> None:
    run = first_run(dag_id)

    assert run.result.state == "success", run.result.report()
    assert set(run.result.states.values()) <= {"success", "skipped"}, run.result.report()
    for folder in run.planned.outputs:
        assert folder in run.outputs, f"{dag_id} wrote nothing to {folder}"
        frame = run.outputs[folder][1]
        assert frame.height > 0, (
            f"{dag_id} wrote no rows to {folder}: make the sample data of what it reads "
            f"({', '.join(run.planned.inputs)}) hold rows its queries keep"
        )
        if output_name(folder) in OUTPUTS:
            assert_output_matches(frame, output_name(folder), sample_rows(run.result.ds))


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_a_rerun_of_the_same_date_leaves_no_duplicates(first_run, local_backend, dag_id) -> None:
    first = first_run(dag_id)
    assert first.result.state == "success", first.result.report()

    with data_root(local_backend / dag_id) as root:
        again = run_dag(dag_id, first.result.ds)

    assert again.state == "success", again.report()
    for folder, (files, frame) in first.outputs.items():
        assert files_in(root, folder) == files, f"{folder}: the rerun added or left files"
        assert_frame_equal(read(root, folder), frame)
