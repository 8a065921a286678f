"""A generated project serves its user's DAGs, not only its examples, whatever its backend.

Projects are baked and changed the way users change them: every example DAG deleted in
some variant, then all of them. Each variant's own suite must pass with no file under
``tests/`` edited. The variants are also the baked suites of the secrets backends: what a
bake's suite can catch depends on its backend's settings and tests, so each backend's bake
gets a variant of its own (the default's is the one without any example). Deletions share a
variant (a test that needs any of them present fails there all the same): each whole suite
costs about 30 s, and they run two at a time, so four variants take two rounds.

The default bake with every example runs its suite in test_project_tooling.py, in its own
environment from its lock, where renaming an example, copying one with a new query and
input, and ``make new-dag`` are exercised too; the bake without examples runs its suite in
test_generation_safety.py, with exotic text in every free-text answer.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import bake_ok, run
from test_bake import BACKEND_TESTS, EXAMPLE_DAGS

EXAMPLES = sorted(name.removesuffix(".py") for name in EXAMPLE_DAGS)
# The bake each variant is made on comes first in its name. A DAG scheduled on another's
# output goes with it (alone, the suite says it has no writer): revenue_shares reads what
# multistage_pipeline writes. The writer stays without its reader in the Vault variant.
VARIANTS = {
    f"{backend}-without-{'-'.join(dag_ids)}": dag_ids
    for backend, dag_ids in (
        ("aws-secrets-manager", ("single_query_awaited", "complete_pipeline")),
        (
            "hashicorp-vault",
            ("single_query_fire_and_forget", "register_manifests", "revenue_shares"),
        ),
        ("gcp-secret-manager", ("parallel_queries", "multistage_pipeline", "revenue_shares")),
    )
}
VARIANTS["environment-without-any-example"] = tuple(EXAMPLES)
SUITE = ("pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:cookies")
# Bytecode written by the first suite serves the others (this sandbox disables it by default).
WRITE_BYTECODE = {"PYTHONDONTWRITEBYTECODE": ""}


def backend_of(variant: str) -> str:
    return variant.split("-without-")[0]


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by its content's hash (bytecode caches aside)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def failures(output: str) -> str:
    """The failures pytest reported, without the -rA list of every passed test around them."""
    start = output.find("= FAILURES =")
    end = output.find("short test summary info", start)
    section = output[start:end] if start != -1 else output
    return section[-8000:]


def copy_of(project: Path, to: Path) -> Path:
    shutil.copytree(project, to, ignore=shutil.ignore_patterns(".airflow", "__pycache__", ".venv"))
    return to


def temp_folder(project: Path) -> Path:
    """The temp folder (TMPDIR) of the project's suite: its own, to see what it leaves."""
    return project.with_name(f"{project.name}-tmp")


def suite(project: Path):
    temp_folder(project).mkdir()
    env = {**WRITE_BYTECODE, "TMPDIR": str(temp_folder(project))}
    return run([sys.executable, "-m", *SUITE], project, timeout=900, **env)


@pytest.fixture(scope="module")
def bakes(cookies_session) -> dict[str, Path]:
    """One bake per secrets backend, every other answer the default."""
    backends = {backend_of(variant) for variant in VARIANTS}
    return {backend: bake_ok(cookies_session, secrets_backend=backend) for backend in backends}


@pytest.fixture(scope="module")
def variants(bakes, tmp_path_factory) -> dict[str, tuple[Path, object]]:
    """Each variant's project and the result of its own suite."""
    root = tmp_path_factory.mktemp("variants")
    projects = {}
    for name, deleted in VARIANTS.items():
        projects[name] = copy_of(bakes[backend_of(name)], root / name)
        for dag_id in deleted:
            (projects[name] / "dags" / f"{dag_id}.py").unlink()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(projects, pool.map(suite, projects.values()), strict=True))
    return {name: (projects[name], results[name]) for name in projects}


def test_every_example_is_deleted_in_some_variant_and_every_backend_has_one() -> None:
    deleted = {
        dag_id
        for name, dag_ids in VARIANTS.items()
        if "any-example" not in name
        for dag_id in dag_ids
    }
    assert deleted == set(EXAMPLES)
    assert {backend_of(name) for name in VARIANTS} == set(BACKEND_TESTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_suite_passes_with_examples_deleted_and_no_test_edited(
    variants, bakes, variant
) -> None:
    project, result = variants[variant]
    output = result.stdout + result.stderr

    assert tree(project / "tests") == tree(bakes[backend_of(variant)] / "tests")
    assert result.returncode == 0, failures(output)
    remaining = sorted(path.stem for path in (project / "dags").glob("*.py"))
    assert remaining == sorted(set(EXAMPLES) - set(VARIANTS[variant]))
    e2e = "PASSED tests/test_e2e_local.py::test_the_dag_runs_on_sample_data_and_fills_every_output"
    assert sorted(dag_id for dag_id in remaining if f"{e2e}[{dag_id}]" in output) == remaining
    assert f"PASSED tests/{BACKEND_TESTS[backend_of(variant)]}::" in output, "its backend's tests"
    # Nothing left in the temp folder but pytest's tmp_path folders (which pytest prunes):
    # no Airflow home, no intermediate results of the local backend.
    left = [path.name for path in temp_folder(project).iterdir()]
    assert [name for name in left if not name.startswith("pytest-of-")] == []


def test_with_no_dag_left_the_demo_says_what_to_do_in_one_line(variants) -> None:
    project, _ = variants["environment-without-any-example"]
    package = next(p.name for p in (project / "dags").iterdir() if (p / "dev.py").is_file())

    result = run(
        [sys.executable, "-m", f"{package}.dev", "demo"],
        project,
        PYTHONPATH="dags",
        **WRITE_BYTECODE,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "No DAG in dags/ to run: write one, e.g. make new-dag NAME=my_pipeline PATTERN=single."
    ]
