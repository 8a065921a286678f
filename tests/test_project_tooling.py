"""The generated repository's tooling, exercised for real in a baked, git-initialised project.

One project is baked with the default answers and taken through its README's sequence
literally: ``make demo``, ``git init && make install`` (``uv sync``: a real ``.venv`` and
``uv.lock``, resolved from the index), a first commit, ``make test``, ``make lint``. Then its
pre-commit hooks, its CI workflow's steps, its Dockerfile's build steps and its tools for the
user's own DAGs (``make new-dag``, ``make run``) run against it, and each check that guards
something is also shown to fail when that thing is broken.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE, bake_ok, clean_env

# Set here rather than in a git config, so that a fresh CI machine needs nothing.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.invalid",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.invalid",
}
# pre-commit's own state (its database; these hooks install no environments) for this run
# only; bytecode written by one command serves the next (this sandbox disables it by default).
SESSION_ENV: dict[str, str] = {"PYTHONDONTWRITEBYTECODE": ""}
README_SEQUENCE: dict[str, subprocess.CompletedProcess[str]] = {}
"""What each command of the README's sequence did in the module's project."""


def run(cwd: Path, command: str | list[str], timeout: float = 600, **env: str):
    """Run a command in a baked project with none of the outer test run's environment."""
    return subprocess.run(
        command,
        cwd=cwd,
        shell=isinstance(command, str),
        executable="/bin/bash" if isinstance(command, str) else None,
        env=clean_env(**GIT_IDENTITY, **SESSION_ENV, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def git(project: Path, *args: str) -> str:
    return ok(run(project, ["git", "-c", "commit.gpgsign=false", *args]))


@pytest.fixture(scope="module")
def project(cookies_session, tmp_path_factory) -> Path:
    """The default bake taken through the README's sequence: `make demo`, `git init && make
    install`, a first commit, `make test`, `make lint` (their results: README_SEQUENCE)."""
    # The answers are spelled out: test_bake.py leaves this combination's suite to this module.
    path = bake_ok(
        cookies_session,
        secrets_backend="environment",
        include_example_dags=True,
        ci="github-actions",
    )
    SESSION_ENV["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    README_SEQUENCE["make demo"] = run(path, ["make", "demo"], timeout=900)
    git(path, "init", "--quiet", "--initial-branch=main")
    ok(run(path, ["make", "install"]))
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--no-verify", "--message", "Generated project")
    README_SEQUENCE["make test"] = run(path, ["make", "test"], timeout=900)
    README_SEQUENCE["make lint"] = run(path, ["make", "lint"], timeout=900)
    return path


@pytest.fixture
def scratch(project: Path):
    """Undo whatever a test plants in the project (tracked or not; .venv is ignored, so kept)."""
    yield project
    git(project, "reset", "--quiet", "--hard", "HEAD")
    git(project, "clean", "--quiet", "--force", "-d")


def pre_commit_config(project: Path) -> dict:
    return yaml.safe_load((project / ".pre-commit-config.yaml").read_text())


def hooks(project: Path) -> dict[str, dict]:
    return {
        hook["id"]: hook for repo in pre_commit_config(project)["repos"] for hook in repo["hooks"]
    }


def dev_group(project: Path) -> dict[str, str]:
    """The dev group's exact pins, name -> version."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    return dict(d.split("==") for d in pyproject["dependency-groups"]["dev"] if "==" in d)


def locked_versions(project: Path) -> dict[str, str]:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {package["name"]: package.get("version") for package in lock["package"]}


# --- the lock and pre-commit -----------------------------------------------------------------


def test_make_install_creates_the_lock_and_registers_the_git_hook(project: Path) -> None:
    assert (project / "uv.lock").is_file()
    assert run(project, ["git", "check-ignore", "--quiet", "uv.lock"]).returncode == 1
    assert "pre-commit" in (project / ".git" / "hooks" / "pre-commit").read_text()


def test_every_hook_runs_a_tool_of_the_locked_dev_group(project: Path) -> None:
    config = pre_commit_config(project)
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "no hook repo to fetch"
    locked = locked_versions(project)
    for hook_id, hook in hooks(project).items():
        assert hook["language"] == "unsupported", hook_id  # runs the entry as it is
        assert "additional_dependencies" not in hook, hook_id
        prefix, _, command = hook["entry"].partition("uv run --locked ")
        assert prefix == "" and command, f"{hook_id}: {hook['entry']}"
        assert (project / ".venv" / "bin" / command.split()[0]).is_file(), hook_id
    # The tools' versions: the dev group's pins, as locked.
    pins = dev_group(project)
    assert {"ruff", "pre-commit", "pre-commit-hooks", "detect-secrets"} <= pins.keys()
    assert {name: locked[name] for name in pins} == pins


def test_the_dev_group_pins_match_the_template_environment(project: Path) -> None:
    """The template's own checks (ruff on every bake) use the same tool versions."""
    pins = dev_group(project)
    assert {name: version(name) for name in pins} == pins


def test_the_secrets_baseline_matches_the_pinned_detect_secrets(project: Path) -> None:
    # A baseline written by another version is rewritten by the hook, which then fails.
    import json

    baseline = json.loads((project / ".secrets.baseline").read_text())
    assert baseline["version"] == dev_group(project)["detect-secrets"]
    assert baseline["results"] == {}, "fixtures are allow-listed inline, not in the baseline"


def test_a_commit_with_a_secret_is_refused(scratch: Path) -> None:
    head = git(scratch, "rev-parse", "HEAD")
    key = "AKIA" + "Q7X2M9K4W1R8T5Y3"  # an AWS access key id by shape, made up
    (scratch / "local_settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{key}"\n')
    git(scratch, "add", "local_settings.py")

    refused = run(scratch, ["git", "commit", "--message", "Add settings"])

    assert refused.returncode != 0
    assert "AWS Access Key" in refused.stdout + refused.stderr
    assert git(scratch, "rev-parse", "HEAD") == head


def test_an_ordinary_commit_goes_through_the_hooks(scratch: Path) -> None:
    head = git(scratch, "rev-parse", "HEAD")
    with (scratch / "README.md").open("a") as readme:
        readme.write("\nA note.\n")
    git(scratch, "commit", "--quiet", "--all", "--message", "Add a note")
    assert git(scratch, "rev-parse", "HEAD") != head


def test_the_ruff_hook_applies_the_airflow_rules(scratch: Path) -> None:
    (scratch / "dags" / "no_schedule.py").write_text(
        "from airflow.sdk import dag\n\n\n@dag()\ndef no_schedule():\n    pass\n\n\nno_schedule()\n"
    )
    result = run(scratch, "uv run --locked pre-commit run ruff-check --files dags/no_schedule.py")
    assert result.returncode != 0
    assert "AIR002" in result.stdout


def test_the_dag_integrity_hook_runs_when_dags_change(scratch: Path) -> None:
    # Airflow only parses files that mention both "airflow" and "dag".
    (scratch / "dags" / "broken.py").write_text(
        'from airflow.sdk import dag\n\nraise RuntimeError("broken on purpose")\n'
    )
    unrelated = run(scratch, "uv run --locked pre-commit run dag-integrity --files README.md")
    assert unrelated.returncode == 0
    assert "(no files to check)Skipped" in unrelated.stdout

    result = run(scratch, "uv run --locked pre-commit run dag-integrity --files dags/broken.py")
    assert result.returncode != 0
    assert "FAILED tests/test_dag_integrity.py::test_dag_folder_imports_without_errors" in (
        result.stdout
    )
    assert "RuntimeError: broken on purpose" in result.stdout


# --- CI --------------------------------------------------------------------------------------


def workflow(project: Path) -> dict:
    return yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())


def github_commands(project: Path) -> list[str]:
    """The workflow's shell steps, in order."""
    steps = workflow(project)["jobs"]["check"]["steps"]
    assert not [step for step in steps if "env" in step], "every command is in its run line"
    return [step["run"].strip() for step in steps if "run" in step]


PRE_COMMIT = "uv run --locked pre-commit run --all-files --show-diff-on-failure"
TESTS = "uv run --locked pytest -n 2 --dist loadfile"


def test_the_github_workflow_installs_from_the_lock_with_a_uv_cache(project: Path) -> None:
    text = (project / ".github" / "workflows" / "ci.yml").read_text()
    assert "${{ github.workflow }}-${{ github.ref }}" in text  # survived Jinja
    steps = workflow(project)["jobs"]["check"]["steps"]
    uses = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert uses == ["actions/checkout", "astral-sh/setup-uv"]
    setup_uv = next(step for step in steps if step.get("uses", "").startswith("astral-sh/"))
    assert setup_uv["with"] == {"enable-cache": True, "cache-dependency-glob": "uv.lock"}

    commands = github_commands(project)
    assert "uv.lock" in commands[0] and "exit 1" in commands[0]  # the lock check comes first
    assert commands[1:] == ["uv sync --locked", PRE_COMMIT, TESTS]


def make_recipe(project: Path, target: str) -> list[str]:
    makefile = (project / "Makefile").read_text()
    recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    return [line.strip() for line in recipe.splitlines()]


LINT = "uv run --locked pre-commit run --show-diff-on-failure --files"


def test_make_lint_runs_the_pre_commit_of_ci(project: Path) -> None:
    """The same hooks as CI, on every file the user has (CI's checkout has only tracked ones)."""
    recipe = make_recipe(project, "lint")
    assert "git ls-files --cached --others --exclude-standard" in recipe[1]
    assert recipe[-1].endswith(LINT)


def test_the_github_workflow_steps_pass_here_and_change_nothing(project: Path) -> None:
    """Every `run:` step, in order, in GitHub's default shell, on the committed project. The
    pre-commit and pytest steps are what the README's `make lint` and `make test` ran on the
    same committed project (the lock in sync, as the `uv sync --locked` step shows): their
    results are checked, not run a second time."""
    ran_already = {PRE_COMMIT: "make lint", TESTS: "make test"}
    assert make_recipe(project, "test") == [TESTS.replace(" --locked", "")]
    for command in github_commands(project):
        if command in ran_already:
            result = ok(README_SEQUENCE[ran_already[command]])
        else:
            shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command]
            result = ok(run(project, shell))
        if command == PRE_COMMIT:
            statuses = re.findall(r"^(.+?)\.{3,}(?:\(no files to check\))?(\w+)$", result, re.M)
            assert len(statuses) == len(hooks(project)), result
            assert {status for _, status in statuses} == {"Passed"}, result
    assert git(project, "status", "--porcelain") == ""


# --- the README's sequence and the user's own DAGs -------------------------------------------


def readme_commands(project: Path) -> list[str]:
    """The commands of the README's first two bash blocks (start, set up), comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", (project / "README.md").read_text(), re.S)[:2]
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]


def test_the_readme_sequence_is_the_one_run_here(project: Path) -> None:
    assert readme_commands(project) == [
        "make demo",
        "git init",
        "make install",
        'git add . && git commit -m "New project"',
        "make test",
        "make lint",
    ]


@pytest.mark.parametrize("command", ["make demo", "make test", "make lint"])
def test_the_readme_sequence_passes_on_a_fresh_bake(project: Path, command: str) -> None:
    result = README_SEQUENCE[command]
    assert result.returncode == 0, (result.stdout + result.stderr)[-8000:]


def test_make_demo_runs_the_pipeline_with_no_configuration(project: Path) -> None:
    out = ok(README_SEQUENCE["make demo"])
    partition = project / ".airflow" / "data" / "curated" / "daily_report" / "ds=2026-01-01"
    assert "Running complete_pipeline for 2026-01-01 with `airflow dags test`" in out
    assert f"{partition}/ (8 rows)" in out, out
    assert (partition / "part-0.parquet").is_file()
    assert (project / ".venv").is_dir(), "make demo creates the environment when missing"


PATTERNS = ("single", "parallel", "multistage")
WEB_VISITS_QUERY = """import polars as pl


def by_page(visits: pl.LazyFrame) -> pl.LazyFrame:
    return visits.group_by("page").agg(pl.col("seconds").mean()).sort("page")
"""
VISITS_SAMPLE = """from datetime import date

import polars as pl


def frame(rows: int, seed: int, ds: date) -> pl.DataFrame:
    pages = ["home", "docs", "pricing"]
    return pl.DataFrame(
        {
            "page": [pages[i % 3] for i in range(rows)],
            "seconds": [float(i * seed % 60) for i in range(rows)],
        }
    )
"""


def replace(path: Path, old: str, new: str, *, pattern: bool = False) -> None:
    """Edit ``path`` the way a user would, failing loudly if ``old`` is not there any more."""
    text = path.read_text()
    edited = re.sub(old, new, text) if pattern else text.replace(old, new)
    assert edited != text, f"{path.name} no longer has {old!r}"
    path.write_text(edited)


def test_renamed_copied_and_new_dags_pass_make_test_and_make_run(scratch: Path) -> None:
    """What users do next, with no file under tests/ edited: rename an example (file and
    dag_id), copy one under a new name with a new query and a new input (plus its sample
    data only), and `make new-dag` for each pattern; then `make test` and `make run`."""
    dags, package = scratch / "dags", scratch / "dags" / "polars_cloud_pipelines"
    tests_before = {p.name: p.read_bytes() for p in (scratch / "tests").glob("*.py")}
    suite_before = re.search(r"(\d+) passed", README_SEQUENCE["make test"].stdout)

    (dags / "parallel_queries.py").rename(dags / "orders_dashboard.py")
    replace(dags / "orders_dashboard.py", r"\bparallel_queries\b", "orders_dashboard", pattern=True)
    copied = dags / "web_visits.py"
    shutil.copy(dags / "single_query_awaited.py", copied)
    replace(copied, r"\bsingle_query_awaited\b", "web_visits", pattern=True)
    replace(copied, "queries.orders import orders_by_status", "queries.web_visits import by_page")
    replace(copied, 'orders_by_status(datasets.source("orders"', 'by_page(datasets.source("visits"')
    replace(copied, 'partition_uri("orders_by_status", ds)', 'partition_uri("visits_by_page", ds)')
    (package / "queries" / "web_visits.py").write_text(WEB_VISITS_QUERY)
    (package / "samples" / "visits.py").write_text(VISITS_SAMPLE)
    for pattern in PATTERNS:
        ok(run(scratch, ["make", "new-dag", f"NAME=new_{pattern}", f"PATTERN={pattern}"]))
    taken = run(scratch, ["make", "new-dag", "NAME=new_single", "PATTERN=parallel"])
    assert taken.returncode != 0
    assert "NAME='new_single' is taken: dags/new_single.py exists." in taken.stderr.splitlines()

    new_tests = {f"test_queries_new_{pattern}.py" for pattern in PATTERNS}
    tests_after = {p.name: p.read_bytes() for p in (scratch / "tests").glob("*.py")}
    assert {name: tests_after[name] for name in tests_before} == tests_before, "tests/ edited"
    assert set(tests_after) - set(tests_before) == new_tests
    tested = ok(run(scratch, ["make", "test"], timeout=900))
    suite_after = re.search(r"(\d+) passed", tested)
    assert suite_before and suite_after and int(suite_after[1]) >= int(suite_before[1]) + 16
    ok(run(scratch, "uv run --locked ruff check . && uv run --locked ruff format --check ."))

    # make test above ran every new DAG end to end (dag.test()); make run drives the same
    # run through the Airflow CLI (13 s each), so once, on the pattern with two outputs.
    shown = ok(run(scratch, ["make", "run", "DAG=new_parallel"], timeout=900))
    assert "new_parallel wrote 2 output partition(s) for ds=2026-01-01" in shown
    assert len(re.findall(r"/ds=2026-01-01/ \([1-9]\d* rows\)", shown)) == 2, shown
    early = run(scratch, ["make", "run", "DAG=new_single", "DS=2013-06-15"])
    assert early.returncode != 0
    assert early.stderr.splitlines()[0] == (
        "DS=2013-06-15 is before the start date of new_single, 2026-01-01: Airflow would run "
        "nothing and call it a success. Use DS=2026-01-01 or later."
    )


def test_the_ci_stops_with_a_clear_message_without_a_lock(tmp_path: Path, project: Path) -> None:
    lock_check = github_commands(project)[0]
    result = run(tmp_path, ["bash", "-eo", "pipefail", "-c", lock_check])
    assert result.returncode == 1
    assert "commit uv.lock" in result.stdout


def test_gitlab_ci_runs_the_same_commands_with_a_uv_cache(cookies, project: Path) -> None:
    gitlab = bake_ok(cookies, ci="gitlab-ci")
    job = yaml.safe_load((gitlab / ".gitlab-ci.yml").read_text())["check"]

    python = (gitlab / ".python-version").read_text().strip()
    assert job["image"] == f"ghcr.io/astral-sh/uv:python{python}-bookworm"
    assert job["cache"] == [
        {"key": {"files": ["uv.lock"]}, "paths": [job["variables"]["UV_CACHE_DIR"]]}
    ]
    assert f"{job['variables']['UV_CACHE_DIR']}/" in (gitlab / ".gitignore").read_text().split()
    script = [line.strip() for line in job["script"]]
    assert "uv.lock" in script[0] and "exit 1" in script[0]
    assert script[1:-1] == github_commands(project)[1:]
    assert script[-1] == "uv cache prune --ci"


# --- the container image ---------------------------------------------------------------------


def dockerfile(project: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for line in (project / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def image_versions(project: Path) -> dict[str, str]:
    [base] = [arguments for keyword, arguments in dockerfile(project) if keyword == "FROM"]
    match = re.fullmatch(r"apache/airflow:(?P<airflow>[\d.]+)-python(?P<python>\d+\.\d+)", base)
    assert match, base
    return match.groupdict()


def runs(project: Path, containing: str) -> str:
    [command] = [a for k, a in dockerfile(project) if k == "RUN" and containing in a]
    return command


def test_image_pyproject_and_lock_agree_on_airflow_and_python(project: Path) -> None:
    image = image_versions(project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert f"apache-airflow=={image['airflow']}" in pyproject["dependencies"]
    assert locked_versions(project)["apache-airflow"] == image["airflow"]
    assert (project / ".python-version").read_text().strip() == image["python"]
    assert pyproject["requires-python"].startswith(f">={image['python']},")


def test_the_image_installs_the_locked_runtime_dependencies(project: Path, tmp_path: Path) -> None:
    """The export step, run as the build runs it: on the copied files only."""
    copies = [a for k, a in dockerfile(project) if k == "COPY" and "${LOCK_DIR}" in a]
    for args in copies:
        *sources, destination = [word for word in shlex.split(args) if not word.startswith("--")]
        for source in sources:
            if (project / source).is_dir():  # COPY dir/ ${LOCK_DIR}/dir/: the same folder
                assert destination == f"${{LOCK_DIR}}/{source}"
                shutil.copytree(project / source, tmp_path / source)
            else:
                assert destination == "${LOCK_DIR}/"
                shutil.copy(project / source, tmp_path / source)

    ok(run(tmp_path, runs(project, "uv export"), LOCK_DIR=str(tmp_path)))

    requirements = (tmp_path / "requirements.txt").read_text()
    pinned = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", requirements, re.M))
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    project_pins = dict(d.split("==") for d in dependencies if "==" in d)
    # The provider comes from its vendored copy, by a path relative to the lock's folder.
    assert project_pins.pop("airflow-provider-polars-cloud")
    assert "./vendor/airflow-provider-polars-cloud" in requirements.splitlines()
    assert {name: pinned.get(name) for name in project_pins} == project_pins
    assert not pinned.keys() & {*dev_group(project), "pytest"}, "the dev group stays out"
    assert "--hash=sha256:" in requirements
    assert "-e " not in requirements and "file://" not in requirements, "the project stays out"

    # A pyproject.toml changed without `uv lock` stops the build.
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = [", 'dependencies = ["rich",')
    )
    stale = run(tmp_path, runs(project, "uv export"), LOCK_DIR=str(tmp_path))
    assert stale.returncode != 0
    assert "needs to be updated" in stale.stderr


def test_make_requirements_writes_the_runtime_pins_without_airflow(scratch: Path) -> None:
    ok(run(scratch, ["make", "requirements"]))
    requirements = (scratch / "requirements.txt").read_text()
    pinned = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", requirements, re.M))
    locked = locked_versions(scratch)
    assert {"polars", "polars-cloud"} <= pinned.keys()
    assert {name: locked[name] for name in pinned} == pinned
    drivers = {"psycopg2-binary", "psycopg", "psycopg-binary", "asyncpg"}  # the platform's own
    assert not pinned.keys() & {"apache-airflow", "sqlalchemy", *drivers, *dev_group(scratch)}


def test_the_image_refuses_a_lock_that_would_replace_its_airflow(project: Path) -> None:
    guard = runs(project, "AIRFLOW_VERSION")
    image_env = {"PATH": f"{project / '.venv' / 'bin'}:{os.environ['PATH']}"}  # the locked env
    ok(run(project, guard, AIRFLOW_VERSION=image_versions(project)["airflow"], **image_env))
    refused = run(project, guard, AIRFLOW_VERSION="3.0.0", **image_env)
    assert refused.returncode == 1
    assert "over the base image's 3.0.0" in refused.stderr


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_else(
    project: Path,
) -> None:
    from docker.utils.build import exclude_paths

    (project / "dags" / "__pycache__").mkdir(exist_ok=True)
    (project / "dags" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    (project / ".env").write_text("AIRFLOW_CONN_X=secret\n")
    try:
        patterns = (project / ".dockerignore").read_text().splitlines()
        context = exclude_paths(str(project), patterns)
    finally:
        (project / ".env").unlink()
    copied = {"pyproject.toml", "uv.lock", "vendor", "dags", "manifests.toml"}
    assert {path.split("/")[0] for path in context} == copied | {"Dockerfile", ".dockerignore"}
    package = next(p for p in (project / "dags").iterdir() if (p / "__init__.py").is_file())
    assert f"dags/{package.name}/datasets.py" in context
    assert "vendor/airflow-provider-polars-cloud/pyproject.toml" in context
    assert "dags/.airflowignore" in context
    assert not [path for path in context if "__pycache__" in path]
    sources = {
        word.rstrip("/")
        for keyword, args in dockerfile(project)
        if keyword == "COPY"
        for word in shlex.split(args)[:-1]
        if not word.startswith("--")
    }
    assert sources == copied


def test_the_dockerfile_keeps_a_marked_place_for_the_secrets_backend(project: Path) -> None:
    text = (project / "Dockerfile").read_text()
    start, end = text.index("# >>> secrets backend >>>"), text.index("# <<< secrets backend <<<")
    assert (
        text.index("uv pip install") < start < end < text.index("COPY --chown=airflow:root dags/")
    )


# --- template updates with cruft -------------------------------------------------------------


def cruft(cwd: Path, *args: str):
    return run(cwd, [str(Path(sys.executable).with_name("cruft")), *args])


def test_cruft_creates_checks_and_updates_a_project(tmp_path: Path) -> None:
    # cruft needs the template as a git repository: commit this checkout's current files,
    # uncommitted changes included, to a scratch one.
    template = tmp_path / "template"
    files = ok(
        run(TEMPLATE, ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    )
    for relative in filter(None, files.split("\0")):
        if (TEMPLATE / relative).is_file():
            (template / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / relative, template / relative)
    git(template, "init", "--quiet", "--initial-branch=main")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "--message", "Template")

    ok(
        cruft(
            tmp_path, "create", "--no-input", str(template), "--output-dir", str(tmp_path / "out")
        )
    )
    project = tmp_path / "out" / "polars-cloud-pipelines"
    assert (project / ".cruft.json").is_file()
    assert (project / "Dockerfile").is_file()
    ok(cruft(project, "check"))
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "Generated project")

    # The template moves on: the project is behind until it is updated.
    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA line added to the template.\n")
    git(template, "commit", "--quiet", "--all", "--message", "Template change")
    assert cruft(project, "check").returncode != 0

    ok(cruft(project, "update", "--skip-apply-ask"))
    assert (project / "README.md").read_text().endswith("A line added to the template.\n")
    ok(cruft(project, "check"))
