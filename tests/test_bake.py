"""Bake the template with every combination of options and check what comes out."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import DEFAULTS, TEMPLATE, bake_ok, run, run_in

EXAMPLE_DAGS = {
    "single_query_awaited.py",
    "single_query_fire_and_forget.py",
    "parallel_queries.py",
    "multistage_pipeline.py",
    "complete_pipeline.py",
    "revenue_shares.py",
    "register_manifests.py",
}
MINIMAL_DAGS = {"orders_by_status.py", "register_manifests.py"}
SECRETS_BACKENDS = ("environment", "aws-secrets-manager", "hashicorp-vault", "gcp-secret-manager")


@dataclass(frozen=True)
class Options:
    secrets_backend: str
    include_example_dags: bool
    ci: str = "github-actions"

    @property
    def id(self) -> str:
        ci = "" if self.ci == "github-actions" else f"-{self.ci}"
        return (
            f"{self.secrets_backend}-{'examples' if self.include_example_dags else 'minimal'}{ci}"
        )

    def context(self) -> dict[str, object]:
        return {
            "secrets_backend": self.secrets_backend,
            "include_example_dags": self.include_example_dags,
            "ci": self.ci,
        }


MATRIX = [Options(backend, examples) for backend in SECRETS_BACKENDS for examples in (True, False)]

# ci only decides which CI file is written: a few extra bakes get the file checks below, and
# the (slow) baked suite runs once per MATRIX case only.
CI_FILES = {"github-actions": ".github/workflows/ci.yml", "gitlab-ci": ".gitlab-ci.yml"}
CI_CASES = [
    Options("aws-secrets-manager", True, ci="gitlab-ci"),
    Options("hashicorp-vault", False, ci="none"),
]


@pytest.fixture(scope="module", params=MATRIX + CI_CASES, ids=lambda o: o.id)
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
        "manifests.toml",
    ):
        assert (default_project / relative).is_file(), relative
    for module in (
        "settings.py",
        "queries/orders.py",
        "queries/daily_report.py",
        "datasets.py",
        "dag_defaults.py",
    ):
        assert (package / module).is_file(), module
    # The plumbing is the provider's, vendored whole until it is published.
    for plumbing in ("auth.py", "compute", "manifests", "tasks.py", "task_operator.py"):
        assert not (package / plumbing).exists(), plumbing
    vendored = default_project / "vendor" / "airflow-provider-polars-cloud"
    assert (vendored / "src" / "polars_cloud_provider" / "hooks" / "polars_cloud.py").is_file()
    assert not (vendored / "tests").exists()
    assert not list(vendored.rglob("__pycache__"))
    assert {p.name for p in (default_project / "dags").glob("*.py")} == EXAMPLE_DAGS
    # The local tools are the provider's too: the package keeps its entry module and samples.
    assert (package / "dev.py").is_file() and not (package / "dev").exists()
    assert {p.name for p in (package / "samples").glob("*.py")} == {
        "__init__.py",
        "orders.py",
        "sales.py",
        "inventory.py",
        "returns.py",
    }
    assert {p.name for p in (default_project / "patterns").iterdir()} == {
        f"{name}.py.tmpl"
        for name in ("single", "parallel", "multistage", "queries", "test_queries", "sample")
    }


def test_the_new_dag_patterns_render_to_python_with_nothing_left_to_fill(
    default_project: Path,
) -> None:
    from polars_cloud_provider.devtools import Project, new_dag

    package = "polars_cloud_pipelines"
    project = Project(
        root=default_project,
        package=package,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        settings=lambda env: SimpleNamespace(conn_id="x", data_root="/x"),
        env_var=str.upper,
        input_folder=lambda name, ds: f"raw/{name}",
        partitioned_by_ds=frozenset(),
        samples=dict,
        samples_dir=default_project / "dags" / package / "samples",
        patterns_dir=default_project / "patterns",
    )
    for pattern in new_dag.PATTERNS:
        files = new_dag.files_for(project, "visits", pattern)
        for path, text in files.items():
            ast.parse(text)
            assert "$" not in text and "{{" not in text, path
        dag_file = files[default_project / "dags" / "visits.py"]
        assert "def visits() -> None:" in dag_file and 'INPUT = "visits_input"' in dag_file
        sample = files[default_project / "dags" / package / "samples" / "visits_input.py"]
        assert "from polars_cloud_provider.devtools.sample_columns import" in sample


def test_the_docs_say_where_local_data_lives_and_how_to_go_to_polars_cloud(
    default_project: Path,
) -> None:
    relative = ".airflow/data"  # local_environment's default (the provider's devtools tests)
    local_doc = (default_project / "docs" / "local-backend.md").read_text()
    assert f"**`{relative}/`**" in local_doc and f"{relative}/raw/" in local_doc
    [data_root_row] = [
        line
        for line in (default_project / "docs" / "settings.md").read_text().splitlines()
        if line.startswith("| data root |")
    ]
    assert f"`{relative}`" in data_root_row, "the settings table names the local default"

    readme = (default_project / "README.md").read_text()
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


def test_examples_follow_the_option(baked) -> None:
    options, project = baked
    dags = {p.name for p in (project / "dags").glob("*.py")}
    assert dags == (EXAMPLE_DAGS if options.include_example_dags else MINIMAL_DAGS)


BACKEND_TESTS = {
    "environment": "test_secrets_environment.py",
    "aws-secrets-manager": "test_secrets_aws.py",
    "hashicorp-vault": "test_secrets_vault.py",
    "gcp-secret-manager": "test_secrets_gcp.py",
}
BACKEND_SETTINGS = {"secrets-backend.env", "airflow-secrets.cfg"}


def test_only_the_chosen_secrets_backend_is_wired(baked) -> None:
    options, project = baked
    tests = {p.name for p in (project / "tests").glob("test_secrets_*.py")}
    assert tests == {"test_secrets_hygiene.py", BACKEND_TESTS[options.secrets_backend]}
    root = {p.name for p in project.iterdir()}
    if options.secrets_backend == "environment":
        assert ".env.example" in root and not BACKEND_SETTINGS & root
    else:
        assert root >= BACKEND_SETTINGS and ".env.example" not in root
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    providers = [d for d in dependencies if d.startswith("apache-airflow-providers-")]
    expected = DEFAULTS["_secrets_backends"].get(options.secrets_backend, {}).get("provider")
    assert providers == ([expected] if expected else [])


def test_ci_files_follow_the_option(baked) -> None:
    options, project = baked
    written = {path for path in CI_FILES.values() if (project / path).is_file()}
    assert written == ({CI_FILES[options.ci]} if options.ci in CI_FILES else set())
    if options.ci != "github-actions":
        assert not (project / ".github").exists(), "no empty folder is left behind"


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


# Test fixtures (dummy credentials) depend on the secrets backend, not on the example DAGs.
@pytest.mark.parametrize(
    "baked", [o for o in MATRIX if o.include_example_dags], ids=lambda o: o.id, indirect=True
)
def test_the_secret_scan_finds_nothing(baked) -> None:
    """The detect-secrets hook, with the shipped baseline, over every generated file: test
    fixtures are allow-listed inline, the secrets-backend settings by the baseline."""
    _, project = baked
    files = [str(p.relative_to(project)) for p in text_files(project)]
    # The vendored provider is scanned where it is developed (below), like the hook does.
    files = [f for f in files if not f.startswith("vendor/")]
    hook = ("detect_secrets.pre_commit_hook", "--baseline", ".secrets.baseline")
    scan = run_in(project, *hook, *files)
    assert scan.returncode == 0, scan.stdout + scan.stderr


def test_the_secret_scan_finds_nothing_in_the_provider(default_project: Path) -> None:
    provider = TEMPLATE / "providers" / "polars-cloud"
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], provider)
    files = [str(provider / name) for name in listed.stdout.split()]
    assert "README.md" in listed.stdout
    hook = ("detect_secrets.pre_commit_hook", "--baseline", ".secrets.baseline")
    scan = run_in(default_project, *hook, *files)
    assert scan.returncode == 0, scan.stdout + scan.stderr


# The baked projects' own suites run elsewhere: per secrets backend, with examples deleted,
# in test_users_own_dags.py; without the examples in test_generation_safety.py (exotic
# answers); with the default answers in test_project_tooling.py, installed from the lock.


def test_the_manifests_command_runs_from_the_project_root(default_project: Path) -> None:
    command = [sys.executable, "-m", "polars_cloud_provider.manifests", "--dry-run"]
    result = run(command, default_project, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "airflow-production           would register workspace=playground cpus=8 memory=16 "
        "cluster_size=1 idle_timeout_mins=10",
        "airflow-production-pipeline  would register workspace=playground cpus=8 memory=16 "
        "cluster_size=1 idle_timeout_mins=10",
        "2 manifests: 2 would register",
    ]
    makefile = (default_project / "Makefile").read_text()
    manifests = "uv run python -m polars_cloud_provider.manifests --conn-id polars_cloud"
    assert f"{manifests} $(ARGS)" in makefile
    assert f"{manifests} --check" in makefile


def test_generated_pins_match_the_environment_that_tests_them(default_project: Path) -> None:
    from importlib.metadata import version

    project = tomllib.loads((default_project / "pyproject.toml").read_text())["project"]
    dependencies = project["dependencies"]
    pins = dict(dep.split("==") for dep in dependencies if "==" in dep)
    assert pins.keys() >= {"apache-airflow", "polars", "polars-cloud"}
    for backend in DEFAULTS["_secrets_backends"].values():  # the provider each backend adds
        name, pin = backend["provider"].split("==")
        pins[name] = pin
    assert {name: version(name) for name in pins} == pins
