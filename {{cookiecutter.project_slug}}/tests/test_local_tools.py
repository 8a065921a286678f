"""The tools for this machine (make run, make new-dag, make demo) and what the docs say of
them: refusals in one line, nothing half-written, whatever DAGs there are."""

from __future__ import annotations

import ast
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk import dag
from conftest import PROJECT_ROOT

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.dev import demo, local_airflow, new_dag, run


def _dag(dag_id: str, tags: tuple[str, ...] = (), end: datetime | None = None):
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


def _bag(*dags, broken: tuple[str, ...] = ()):
    return SimpleNamespace(
        dags={d.dag_id: d for d in dags}, import_errors={f"/x/{f}": "boom" for f in broken}
    )


def test_make_run_refuses_a_date_before_the_start_date_naming_both() -> None:
    problem = run.refusal(_bag(_dag("my_pipeline")), "my_pipeline", "2013-06-15")

    assert problem == (
        "DS=2013-06-15 is before the start date of my_pipeline, 2024-02-01: Airflow would run "
        "nothing and call it a success. Use DS=2024-02-01 or later."
    )


def test_make_run_refuses_what_airflow_would_not_run() -> None:
    bag = _bag(_dag("a"), _dag("b", end=datetime(2026, 2, 1, tzinfo=UTC)), broken=("c.py",))

    assert run.refusal(bag, "a", None) is None
    assert run.refusal(bag, "a", "2024-02-01") is None
    assert run.refusal(bag, "zz", None) == (
        "No DAG 'zz' in dags/ (DAGs: a, b); these files do not parse: c.py."
    )
    assert run.refusal(bag, "a", "2026-1-1") == "DS='2026-1-1' is not a date: use YYYY-MM-DD."
    assert run.refusal(bag, "b", "2026-02-02").startswith("DS=2026-02-02 is after the end date")
    assert run.main([]) == 2


def test_the_demo_runs_the_dags_tagged_demo_else_every_dag() -> None:
    tagged, plain = _dag("tagged", tags=(demo.DEMO_TAG,)), _dag("plain")
    assert demo.chosen(_bag(tagged, plain)) == ["tagged"]
    assert demo.chosen(_bag(plain, _dag("another"))) == ["another", "plain"]
    assert demo.chosen(_bag()) == []


@pytest.fixture
def project(tmp_path) -> Path:
    package = Path(new_dag.__file__).resolve().parents[1].name
    for folder in ("dags", f"dags/{package}/queries", f"dags/{package}/dev/samples", "tests"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("pattern", new_dag.PATTERNS)
def test_make_new_dag_writes_a_dag_its_queries_their_test_and_sample_data(project, pattern) -> None:
    name = f"visits_{uuid.uuid4().hex[:8]}"  # a name no DAG or module of the project has

    written = new_dag.create(name, pattern, project)

    package = Path(new_dag.__file__).resolve().parents[1].name
    assert _files(project) == sorted(
        [
            f"dags/{name}.py",
            f"dags/{package}/dev/samples/{name}_input.py",
            f"dags/{package}/queries/{name}.py",
            f"tests/test_queries_{name}.py",
        ]
    )
    for path in written:
        text = path.read_text()
        ast.parse(text)
        assert "$" not in text and "{{ '{{' }}" not in text, path
    dag_file = (project / "dags" / f"{name}.py").read_text()
    assert f"def {name}() -> None:" in dag_file
    assert f'INPUT = "{name}_input"' in dag_file


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
def test_make_new_dag_refuses_in_one_line_and_writes_nothing(project, name, pattern, why) -> None:
    (project / "dags" / "web_visits.py").write_text("# a DAG of the user's\n")
    before = {path: path.read_text() for path in project.rglob("*") if path.is_file()}

    with pytest.raises(new_dag.Refused) as refused:
        new_dag.create(name, pattern, project)

    assert re.search(why, str(refused.value)), str(refused.value)
    assert "\n" not in str(refused.value)
    assert {path: path.read_text() for path in project.rglob("*") if path.is_file()} == before


def test_the_docs_say_where_local_data_lives_and_how_to_go_to_polars_cloud() -> None:
    local_root = local_airflow.local_environment(PROJECT_ROOT, base={})[
        settings.env_var("data_root")
    ]
    relative = Path(local_root).relative_to(PROJECT_ROOT).as_posix()
    assert relative == ".airflow/data"
    local_doc = (PROJECT_ROOT / "docs" / "local-backend.md").read_text()
    assert f"**`{relative}/`**" in local_doc and f"{relative}/raw/" in local_doc
    [data_root_row] = [
        line
        for line in (PROJECT_ROOT / "docs" / "settings.md").read_text().splitlines()
        if line.startswith("| data root |")
    ]
    assert f"`{relative}`" in data_root_row, "the settings table names the local default"

    readme = (PROJECT_ROOT / "README.md").read_text()
    checklist = readme.split("## Go to Polars Cloud", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"^(\d)\. \*\*(.+?)\*\*", checklist, re.M)
    assert steps == [
        ("1", "Connection"),
        ("2", "Secret"),
        ("3", "Data root"),
        ("4", "Manifests"),
        ("5", "First run"),
    ]
    customize = readme.split("## Customize", 1)[1].split("\n## ", 1)[0]
    topics = ("Add a DAG", "Delete a DAG", "Rename a DAG", "A new input dataset", "Run one DAG")
    assert [topic for topic in topics if f"**{topic}**" not in customize] == []


def test_make_run_fails_on_a_day_missing_from_real_input_without_running_airflow(
    tmp_path, monkeypatch, capsys
) -> None:
    """Sample data never fills in a day of the user's own dataset: the run stops before
    Airflow, naming the dataset, the day and the URI, and writes nothing there."""
    from {{ cookiecutter.package_name }} import datasets
    from {{ cookiecutter.package_name }}.dev import sample_data

    partitioned = sorted(datasets.PARTITIONED_BY_DS & set(sample_data.names()))
    if not partitioned:
        pytest.skip("no input partitioned by day")
    name, day = partitioned[0], sample_data.DEFAULT_DS  # the start date
    missing = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    theirs = tmp_path / "data" / datasets.input_folder(name, day) / "export.parquet"
    theirs.parent.mkdir(parents=True)
    sample_data.frame(name, 10, ds=day).write_parquet(theirs)
    monkeypatch.setenv(settings.env_var("data_root"), str(tmp_path / "data"))
    monkeypatch.setattr(local_airflow, "migrate", lambda env, log: True)
    ran = []

    def airflow(*args, **kwargs) -> SimpleNamespace:
        ran.append(args)
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(local_airflow, "airflow", airflow)
    monkeypatch.setattr(run, "_show", lambda *args: None)

    code = run.run_dags([("their_pipeline", missing)], {"AIRFLOW_HOME": str(tmp_path)}, "x.log")

    err = capsys.readouterr().err
    uri = f"{tmp_path / 'data'}/{datasets.input_folder(name, missing)}/*.parquet"
    assert code == 1 and ran == []
    assert err.startswith(
        f"FAILED before running their_pipeline for {missing}: Input {name!r} for ds={missing}: "
        f"no parquet file at {uri}"
    )
    files = [p.name for p in (tmp_path / "data" / "raw" / name).rglob("*") if p.is_file()]
    assert files == ["export.parquet"]
