"""Every DAG, run end to end with dag.test() on the local backend: real Airflow, real Polars,
real files. Outputs are checked against values computed independently (expected.py)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import DAGS_FOLDER, run_dag
from expected import DAG_OUTPUTS, assert_output_matches

from {{ cookiecutter.package_name }} import datasets, settings
from {{ cookiecutter.package_name }}.dag_defaults import START_DATE
from {{ cookiecutter.package_name }}.dev import sample_data

DS = START_DATE.date().isoformat()
ROWS = 2_000
DAG_IDS = sorted(p.stem for p in DAGS_FOLDER.glob("*.py"))


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, airflow_db):
    """A data root with sample inputs, and the local backend, for the whole module."""
    root = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.env_var("data_root"), str(root))
        patch.setenv(settings.env_var("local_root"), str(root / "_intermediate"))
        conn_id = settings.load().conn_id
        connection = {"conn_type": "http", "extra": {"backend": "local"}}
        patch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        sample_data.write(str(root), rows=ROWS)
        inputs = {
            name: frame.rows(named=True) for name, frame in sample_data.sample_frames(ROWS).items()
        }
        yield root, inputs


def read_output(name: str, ds: str = DS) -> pl.DataFrame:
    directory = datasets.partition_uri(name, ds)
    return pl.read_parquet(f"{directory}*.parquet")


def partition_files(root: Path, name: str) -> list[str]:
    base = root / "curated" / name
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_runs_and_writes_exactly_the_expected_outputs(local_run, dag_id) -> None:
    root, inputs = local_run
    run, states = run_dag(dag_id)

    assert run.state == "success", states
    assert set(states.values()) == {"success"}, states
    for output in DAG_OUTPUTS[dag_id]:
        assert_output_matches(read_output(output), output, inputs)
        assert f"ds={DS}/part-0.parquet" in partition_files(root, output)


def test_a_rerun_of_the_same_date_leaves_no_duplicates(local_run) -> None:
    root, inputs = local_run
    dag_id = DAG_IDS[0]
    for _ in range(2):
        run, states = run_dag(dag_id)
        assert run.state == "success", states
    for output in DAG_OUTPUTS[dag_id]:
        assert [f for f in partition_files(root, output) if f.startswith(f"ds={DS}/")] == [
            f"ds={DS}/part-0.parquet"
        ]
        assert_output_matches(read_output(output), output, inputs)


def test_another_date_gets_its_own_partition(local_run) -> None:
    root, inputs = local_run
    dag_id = DAG_IDS[0]
    run, states = run_dag(dag_id, ds="2026-01-02")
    assert run.state == "success", states
    for output in DAG_OUTPUTS[dag_id]:
        assert "ds=2026-01-02/part-0.parquet" in partition_files(root, output)
        assert_output_matches(read_output(output, "2026-01-02"), output, inputs)
