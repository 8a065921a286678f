"""Bake the template with every combination of options and check what comes out."""

from __future__ import annotations

import ast
import hashlib
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import bake_ok, run_in

EXAMPLE_DAGS = {
    "single_query_awaited.py",
    "single_query_fire_and_forget.py",
    "parallel_queries.py",
    "multistage_pipeline.py",
    "complete_pipeline.py",
}
MINIMAL_DAGS = {"orders_by_status.py"}
SECRETS_BACKENDS = ("environment", "aws-secrets-manager", "hashicorp-vault", "gcp-secret-manager")


@dataclass(frozen=True)
class Options:
    secrets_backend: str
    include_example_dags: bool

    @property
    def id(self) -> str:
        return f"{self.secrets_backend}-{'examples' if self.include_example_dags else 'minimal'}"

    def context(self) -> dict[str, object]:
        return {
            "secrets_backend": self.secrets_backend,
            "include_example_dags": self.include_example_dags,
        }


MATRIX = [Options(backend, examples) for backend in SECRETS_BACKENDS for examples in (True, False)]


@pytest.fixture(scope="module", params=MATRIX, ids=lambda o: o.id)
def baked(request, cookies_session) -> tuple[Options, Path]:
    return request.param, bake_ok(cookies_session, **request.param.context())


def text_files(project: Path) -> list[Path]:
    return [p for p in sorted(project.rglob("*")) if p.is_file() and ".venv" not in p.parts]


def test_default_bake_has_the_promised_layout(default_project: Path) -> None:
    package = default_project / "dags" / "polars_cloud_pipelines"
    assert default_project.name == "polars-cloud-pipelines"
    for relative in (
        "README.md",
        "pyproject.toml",
        ".gitignore",
        "dags/.airflowignore",
        "tests/test_dag_integrity.py",
        "tests/dag_policy.py",
    ):
        assert (default_project / relative).is_file(), relative
    for module in ("auth.py", "settings.py", "queries.py", "datasets.py", "compute/cloud.py"):
        assert (package / module).is_file(), module
    assert {p.name for p in (default_project / "dags").glob("*.py")} == EXAMPLE_DAGS


def test_examples_follow_the_option(baked) -> None:
    options, project = baked
    dags = {p.name for p in (project / "dags").glob("*.py")}
    assert dags == (EXAMPLE_DAGS if options.include_example_dags else MINIMAL_DAGS)


def test_nothing_is_left_unrendered(baked) -> None:
    _, project = baked
    leftovers = [
        str(path.relative_to(project))
        for path in text_files(project)
        if any(marker in path.read_text() for marker in ("{{ cookiecutter", "{%", "cookiecutter."))
        or "{{" in path.name
    ]
    assert leftovers == []


def test_every_python_file_parses(baked) -> None:
    _, project = baked
    for path in text_files(project):
        if path.suffix == ".py":
            ast.parse(path.read_text(), filename=str(path))


def test_toml_and_yaml_parse(baked) -> None:
    _, project = baked
    for path in text_files(project):
        if path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(path.read_text())


def test_ruff_lint_and_format_are_clean(baked) -> None:
    _, project = baked
    lint = run_in(project, "ruff", "check", "--no-cache", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = run_in(project, "ruff", "format", "--no-cache", "--check", "--diff", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


_SUITE_RESULTS: dict[str, subprocess.CompletedProcess[str]] = {}
"""The baked suite's result per distinct project (see tree_digest)."""


def tree_digest(project: Path) -> str:
    """The names and contents of every file a bake produced, as one digest."""
    digest = hashlib.sha256()
    for path in text_files(project):
        if not {"__pycache__", ".pytest_cache", ".ruff_cache"} & set(path.parts):
            digest.update(f"{path.relative_to(project)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_baked_projects_own_suite_passes(baked) -> None:
    _, project = baked
    # Combinations that render byte-identical projects share one run of the suite: the same
    # files give the same result. (Today secrets_backend changes no generated file, so the
    # eight combinations are two projects; an option that changes a file gets its own run.)
    key = tree_digest(project)
    if key not in _SUITE_RESULTS:
        _SUITE_RESULTS[key] = run_in(
            project, "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cookies"
        )
    result = _SUITE_RESULTS[key]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


def test_only_identical_bakes_share_a_suite_run(default_project: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(default_project, tmp_path / "copy"))
    assert tree_digest(copy) == tree_digest(default_project)
    (copy / "dags" / ".airflowignore").write_text("changed\n")
    assert tree_digest(copy) != tree_digest(default_project)
    (copy / "dags" / ".airflowignore").unlink()
    assert tree_digest(copy) != tree_digest(default_project)


def test_generated_pins_match_the_environment_that_tests_them(default_project: Path) -> None:
    from importlib.metadata import version

    project = tomllib.loads((default_project / "pyproject.toml").read_text())["project"]
    dependencies = project["dependencies"]
    pins = dict(dep.split("==") for dep in dependencies if "==" in dep)
    assert pins.keys() >= {"apache-airflow", "polars", "polars-cloud"}
    assert {name: version(name) for name in pins} == pins
