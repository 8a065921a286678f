"""The local tools (make run, make new-dag, make demo, the local Airflow) on a small project
(``devtools_project``): refusals in one line, nothing half-written, whatever DAGs there are."""

from __future__ import annotations

import ast
import json
import os
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import dag
from devtools_project import PACKAGE, env_var, input_folder, their_file, tiny_project
from polars_cloud_provider import devtools
from polars_cloud_provider import settings as provider_settings
from polars_cloud_provider.devtools import demo, local_airflow, new_dag, run


def _dag(dag_id: str, tags: tuple[str, ...] = (), end: datetime | None = None) -> Any:
    @dag(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2024, 2, 1, tzinfo=UTC),
        end_date=end,
        tags=list(tags),
    )
    def pipeline() -> None:
        pass

    return pipeline()


def _bag(*dags: Any, broken: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(
        dags={d.dag_id: d for d in dags}, import_errors={f"/x/{f}": "boom" for f in broken}
    )


def test_make_run_refuses_a_date_before_the_start_date_naming_both(tmp_path) -> None:
    project = tiny_project(tmp_path)
    problem = run.refusal(project, _bag(_dag("my_pipeline")), "my_pipeline", "2013-06-15")

    assert problem == (
        "DS=2013-06-15 is before the start date of my_pipeline, 2024-02-01: Airflow would run "
        "nothing and call it a success. Use DS=2024-02-01 or later."
    )


def test_make_run_refuses_what_airflow_would_not_run(tmp_path, capsys) -> None:
    project = tiny_project(tmp_path)
    bag = _bag(_dag("a"), _dag("b", end=datetime(2026, 2, 1, tzinfo=UTC)), broken=("c.py",))

    assert run.refusal(project, bag, "a", None) is None
    assert run.refusal(project, bag, "a", "2024-02-01") is None
    assert run.refusal(project, bag, "zz", None) == (
        "No DAG 'zz' in dags/ (DAGs: a, b); these files do not parse: c.py."
    )
    assert run.refusal(project, bag, "b", "2026-02-02").startswith(
        "DS=2026-02-02 is after the end date"
    )
    assert run.main(project, []) == 2
    assert run.main(project, ["a", "2026-1-1"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        run.USAGE,
        "DS='2026-1-1' is not a date: use YYYY-MM-DD.",
    ]


def test_a_dag_without_a_start_date_starts_on_the_projects(tmp_path) -> None:
    project = tiny_project(tmp_path)
    assert project.first_day(_dag("a")) == "2024-02-01"
    assert project.first_day(SimpleNamespace(start_date=None)) == "2026-01-01"


def test_the_demo_runs_the_dags_tagged_demo_else_every_dag() -> None:
    tagged, plain = _dag("tagged", tags=(demo.DEMO_TAG,)), _dag("plain")
    assert demo.chosen(_bag(tagged, plain)) == ["tagged"]
    assert demo.chosen(_bag(plain, _dag("another"))) == ["another", "plain"]
    assert demo.chosen(_bag()) == []


def test_an_unknown_command_gets_the_list_of_commands(tmp_path, capsys) -> None:
    assert devtools.main(tiny_project(tmp_path), ["deploy"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: python -m {PACKAGE}.dev <command> [arguments]\n")
    assert [line.split()[0] for line in err.splitlines()[1:]] == list(devtools.COMMANDS)


@pytest.fixture
def project_root(tmp_path) -> Path:
    for folder in ("dags", f"dags/{PACKAGE}/queries", f"dags/{PACKAGE}/samples", "tests"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("pattern", new_dag.PATTERNS)
def test_make_new_dag_writes_a_dag_its_queries_their_test_and_sample_data(
    project_root, pattern, capsys
) -> None:
    name = f"visits_{uuid.uuid4().hex[:8]}"  # a name no DAG or module of the project has

    assert new_dag.main(tiny_project(project_root), [name, pattern]) == 0

    expected = [
        f"dags/{name}.py",
        f"dags/{PACKAGE}/queries/{name}.py",
        f"tests/test_queries_{name}.py",
        f"dags/{PACKAGE}/samples/{name}_input.py",
    ]
    assert _files(project_root) == sorted(expected)
    for relative in expected:
        text = (project_root / relative).read_text()
        ast.parse(text)
        assert "$" not in text, relative
    dag_file = (project_root / "dags" / f"{name}.py").read_text()
    assert f"def {name}() -> None:" in dag_file
    assert f'INPUT = "{name}_input"' in dag_file
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"New {pattern} DAG {name!r}:",
        *[f"  {relative}" for relative in expected],
        f"Next: make test, then make run DAG={name} to see its output.",
    ]


@pytest.mark.parametrize(
    ("name", "pattern", "why"),
    [
        ("web_visits", "single", r"^NAME='web_visits' is taken: dags/web_visits\.py exists\.$"),
        ("Web-Visits", "single", r"^NAME='Web-Visits' cannot be a DAG id here: use lower-case"),
        ("class", "single", r"^NAME='class' cannot be a DAG id"),
        ("x" * 41, "single", r"at most 40 characters\.$"),
        ("polars", "single", r"^NAME='polars' would hide the Python module 'polars'"),
        ("fine", "star", r"^PATTERN='star' is not a pattern: use one of single, parallel"),
        ("", "", r"^usage: make new-dag NAME=<dag_id> PATTERN=single\|parallel\|multistage$"),
    ],
)
def test_make_new_dag_refuses_in_one_line_and_writes_nothing(
    project_root, name, pattern, why
) -> None:
    (project_root / "dags" / "web_visits.py").write_text("# a DAG of the user's\n")
    before = {path: path.read_text() for path in project_root.rglob("*") if path.is_file()}

    with pytest.raises(new_dag.Refused) as refused:
        new_dag.create(tiny_project(project_root), name, pattern)

    assert re.search(why, str(refused.value)), str(refused.value)
    assert "\n" not in str(refused.value)
    assert {p: p.read_text() for p in project_root.rglob("*") if p.is_file()} == before


def test_make_new_dag_refuses_a_taken_sample_module_too(project_root, capsys) -> None:
    (project_root / "dags" / PACKAGE / "samples" / "web_visits_input.py").write_text("")

    assert new_dag.main(tiny_project(project_root), ["web_visits", "single"]) == 2

    assert capsys.readouterr().err == (
        f"NAME='web_visits' is taken: dags/{PACKAGE}/samples/web_visits_input.py exists.\n"
    )
    assert _files(project_root) == [f"dags/{PACKAGE}/samples/web_visits_input.py"]


def test_the_local_airflow_lives_under_dot_airflow_with_the_local_backend(tmp_path) -> None:
    project = tiny_project(tmp_path)

    env = local_airflow.local_environment(project, base={"PYTHONPATH": "/theirs"})

    home = tmp_path / ".airflow"
    assert env["AIRFLOW_HOME"] == str(home)
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")
    assert env[env_var("data_root")] == str(home / "data")
    assert env[provider_settings.env_var("local_data_root")] == str(home / "data")
    assert env[provider_settings.env_var("local_root")] == str(home / "intermediate")
    assert env[env_var("retry_delay_s")] == local_airflow.RETRY_DELAY_S
    assert json.loads(env["AIRFLOW_CONN_TINY_CLOUD"])["extra"] == {"backend": "local"}
    assert env["PYTHONPATH"] == os.pathsep.join([str(tmp_path / "dags"), "/theirs"])
    # A data root already set (a local S3-compatible store...) and the connection id are kept.
    theirs = {env_var("data_root"): "s3://local-minio/data", env_var("conn_id"): "mine"}
    env = local_airflow.local_environment(project, base=theirs)
    assert env[provider_settings.env_var("local_data_root")] == "s3://local-minio/data"
    assert "AIRFLOW_CONN_MINE" in env and "AIRFLOW_CONN_TINY_CLOUD" not in env


def test_the_metadata_db_is_migrated_once_per_airflow_release_and_database(
    tmp_path, monkeypatch
) -> None:
    ran: list[tuple[str, ...]] = []

    def airflow(*args: str, **kwargs: Any) -> SimpleNamespace:
        ran.append(args)
        (tmp_path / "airflow.db").touch()
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(local_airflow, "airflow", airflow)
    env = {"AIRFLOW_HOME": str(tmp_path)}
    with open(os.devnull, "w") as log:
        assert local_airflow.migrate(env, log) and local_airflow.migrate(env, log)
        assert ran == [("db", "migrate")]
        url = "postgresql://airflow:hunter2@db:5432/airflow"  # pragma: allowlist secret
        assert local_airflow.migrate({**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}, log)
    assert len(ran) == 2
    assert "hunter2" not in (tmp_path / "migrated-by").read_text()


def test_make_run_fails_on_a_day_missing_from_real_input_without_running_airflow(
    tmp_path, monkeypatch, capsys
) -> None:
    """Sample data never fills in a day of the user's own dataset: the run stops before
    Airflow, naming the dataset, the day and the URI, and writes nothing there."""
    project = tiny_project(tmp_path / "project")
    sample_data = devtools.SampleData(project)
    name, day = "visits", sample_data.DEFAULT_DS  # the start date
    missing = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    their_file(tmp_path / "data" / input_folder(name, day) / "export.parquet")
    monkeypatch.setenv(env_var("data_root"), str(tmp_path / "data"))
    monkeypatch.setattr(local_airflow, "migrate", lambda env, log: True)
    ran = []

    def airflow(*args: str, **kwargs: Any) -> SimpleNamespace:
        ran.append(args)
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(local_airflow, "airflow", airflow)
    monkeypatch.setattr(run, "_show", lambda *args: None)

    runs = [("their_pipeline", missing)]
    code = run.run_dags(project, runs, {"AIRFLOW_HOME": str(tmp_path)}, "x.log")

    err = capsys.readouterr().err
    uri = f"{tmp_path / 'data'}/{input_folder(name, missing)}/*.parquet"
    assert code == 1 and ran == []
    assert err.startswith(
        f"FAILED before running their_pipeline for {missing}: Input {name!r} for ds={missing}: "
        f"no parquet file at {uri}"
    )
    files = [p.name for p in (tmp_path / "data" / "raw" / name).rglob("*") if p.is_file()]
    assert files == ["export.parquet"]
