"""Every DAG parses, follows the project's policy (dag_policy.py) and bounds its clusters."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import cluster_rules
import dag_policy
import pytest
from conftest import DAGS_FOLDER, PROJECT_ROOT
from dag_inspection import compute_calls, is_authenticated, task_callable
from polars_cloud_provider import compute
from polars_cloud_provider.manifests import spec

DAG_FILES = sorted(DAGS_FOLDER.glob("*.py"))
HEAVY_MODULES = ("polars", "polars_cloud")


@functools.cache
def dag_of(path: Path):
    """The one DAG a file defines, parsed on its own (a second, independent parse).

    One DAG per file, with the file's name as its id: the id in the UI leads to the code.
    """
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    assert list(bag.dags) == [path.stem], f"{path.name} must define one DAG, {path.stem!r}"
    return bag.dags[path.stem]


def compute_tasks(dag):
    """The tasks of ``dag`` that call the compute helpers, with their callable and calls."""
    for task in dag.tasks:
        fn = task_callable(task)
        calls = compute_calls(fn) if fn is not None else set()
        if calls:
            yield task, fn, calls


def test_dag_folder_imports_without_errors(dagbag) -> None:
    problems = "\n\n".join(f"{file}:\n{error}" for file, error in dagbag.import_errors.items())
    assert not dagbag.import_errors, f"DAG import errors:\n{problems}"
    assert dagbag.dags or not DAG_FILES, f"no DAGs found in {DAGS_FOLDER}"


def test_the_dag_processor_skips_the_package(dagbag) -> None:
    """dags/.airflowignore keeps the plumbing out of DAG parsing (and its parse time)."""
    package = compute.__name__.split(".")[0]
    parsed = sorted(stat.file for stat in dagbag.dagbag_stats)
    assert parsed or not DAG_FILES, "the DagBag parsed no file"
    assert [f for f in parsed if f.startswith(f"{package}/")] == []


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_every_file_defines_one_dag_named_after_it(path: Path) -> None:
    assert dag_of(path).dag_id == path.stem


def test_dag_ids_are_unique_across_files(dagbag) -> None:
    ids = [dag_of(path).dag_id for path in DAG_FILES]
    assert len(ids) == len(set(ids)) == len(dagbag.dags)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_tags_come_from_the_approved_list(path: Path) -> None:
    dag = dag_of(path)
    assert dag.tags, f"{dag.dag_id} has no tags"
    assert set(dag.tags) <= dag_policy.APPROVED_TAGS, (
        f"{dag.dag_id} uses unapproved tags {sorted(set(dag.tags) - dag_policy.APPROVED_TAGS)}; "
        "add them to tests/dag_policy.py if they are intended"
    )


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_every_task_has_an_owner_and_retries(path: Path) -> None:
    for task in dag_of(path).tasks:
        where = f"{path.stem}.{task.task_id}"
        assert task.owner and task.owner != "airflow", f"{where} has no owner"
        retries = task.retries or 0
        assert retries >= dag_policy.MIN_RETRIES, (
            f"{where} retries {retries} < {dag_policy.MIN_RETRIES}"
        )


def test_start_dates_are_static(dagbag, fresh_parse) -> None:
    """A parse in another process, moments later, must find the same start dates: no
    datetime.now() and the like, which would make the scheduler see a new DAG every parse."""
    here = {dag_id: str(dag.start_date) for dag_id, dag in dagbag.dags.items()}
    assert None not in here.values()
    assert fresh_parse["start_dates"] == here


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_catchup_is_off_unless_allowed(path: Path) -> None:
    dag = dag_of(path)
    if dag.dag_id not in dag_policy.CATCHUP_ALLOWED:
        assert dag.catchup is False, f"{dag.dag_id}: set catchup=False or allow it in dag_policy"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_no_cycles(path: Path) -> None:
    dag = dag_of(path)
    done: set[str] = set()
    for task_id in dag.task_dict:
        _visit(dag, task_id, (), done)
    assert done == set(dag.task_dict)


def _visit(dag, task_id: str, path: tuple[str, ...], done: set[str]) -> None:
    assert task_id not in path, f"{dag.dag_id} has a cycle: {' -> '.join((*path, task_id))}"
    if task_id in done:
        return
    for child in dag.task_dict[task_id].downstream_task_ids:
        _visit(dag, child, (*path, task_id), done)
    done.add(task_id)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_tasks_using_polars_cloud_are_authenticated(path: Path) -> None:
    for task, _, _ in compute_tasks(dag_of(path)):
        assert is_authenticated(task), (
            f"{path.stem}.{task.task_id} calls the compute helpers in a plain @task: make it "
            "a @polars_task (or put @authenticate right under @task)"
        )


@pytest.fixture(scope="module")
def rules() -> dict[str, list[str]]:
    """Every DAG against the cluster and query-task rules (cluster_rules.py), at once: some
    rules (who else uses a manifest) are about all DAGs together."""
    declared = spec.load(PROJECT_ROOT / "manifests.toml")
    return cluster_rules.problems(
        [dag_of(path) for path in DAG_FILES], {m.name: m for m in declared.manifests}
    )


def test_no_dag_stops_a_cluster_another_run_can_use(rules) -> None:
    """A shared manifest is never stopped by a DAG; a DAG stops only its own manifest, one
    run at a time, with a teardown downstream of every query on it."""
    assert rules["stopping"] == [], "\n".join(rules["stopping"])


def test_every_cluster_a_dag_starts_is_bounded(rules) -> None:
    """Cost guard: nothing may leave a cluster running until its idle timeout by accident."""
    assert rules["bounded"] == [], "\n".join(rules["bounded"])


def test_every_manifest_a_dag_uses_is_declared(rules) -> None:
    assert rules["declared"] == [], "\n".join(rules["declared"])


def test_tasks_running_queries_are_polars_tasks(rules) -> None:
    """A plain @task cannot cancel its query on SIGTERM, defer or reattach."""
    assert rules["decorator"] == [], "\n".join(rules["decorator"])


def test_sinks_declare_their_outputs_as_assets(rules) -> None:
    assert rules["outlets"] == [] and rules["assets"] == [], "\n".join(
        rules["outlets"] + rules["assets"]
    )


def test_dag_files_do_not_import_polars_at_parse_time(fresh_parse) -> None:
    """Parsing a DAG file must not import polars or polars_cloud, directly or through the
    package: the DAG processor would pay for it on every parse of every file."""
    assert {name: mods for name, mods in fresh_parse["heavy_imports"].items() if mods} == {}


_FRESH_PARSE = """
import json, runpy, sys
import airflow.sdk  # the DAG processor has airflow imported before it parses a file

dags_folder, heavy, files = sys.argv[1], tuple(sys.argv[2].split(",")), sys.argv[3:]
sys.path.insert(0, dags_folder)
heavy_imports = {}
for path in files:
    before = set(sys.modules)
    runpy.run_path(path)
    new = set(sys.modules) - before
    heavy_imports[path.rsplit("/", 1)[-1]] = sorted(m for m in new if m.split(".")[0] in heavy)

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=dags_folder)
start_dates = {dag_id: str(dag.start_date) for dag_id, dag in bag.dags.items()}
print(json.dumps({"heavy_imports": heavy_imports, "start_dates": start_dates}))
"""


@pytest.fixture(scope="module")
def fresh_parse() -> dict:
    """Parse every DAG file in a new interpreter, as the DAG processor does."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _FRESH_PARSE,
            str(DAGS_FOLDER),
            ",".join(HEAVY_MODULES),
            *map(str, DAG_FILES),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, f"parsing the DAG files failed:\n{out.stderr[-4000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])
