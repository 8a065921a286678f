"""Helpers for baking the template and running what it generates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
# pytest-cookies renders the context itself, outside the import path cookiecutter sets up
# for the template's local Jinja extensions: make them importable for it.
sys.path.insert(0, str(TEMPLATE))
DEFAULTS = json.loads((TEMPLATE / "cookiecutter.json").read_text())

# Variables of the shell or the outer test run that must not leak into a baked project's
# own checks (they would point it at the template's environment or Airflow home).
_LEAKY_PREFIXES = ("AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_", "UV_PROJECT", "POLARS_CLOUD")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env.update(extra)
    return env


def run(
    command: list[str], cwd: Path, timeout: float = 600, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` with a clean environment (plus ``env``), capturing text."""
    return subprocess.run(
        command, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout
    )


def run_in(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <args>`` inside a baked project with the template's interpreter."""
    return run([sys.executable, "-m", *args], project, timeout)


def bake_ok(cookies, **context) -> Path:
    result = cookies.bake(extra_context=context, template=str(TEMPLATE))
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return result.project_path


@pytest.fixture(scope="session")
def default_project(cookies_session) -> Path:
    """The template baked with every default answer, shared by the session."""
    return bake_ok(cookies_session)


PHASES_PROPERTY = "real services: wall time per phase"
_phases: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the phases test_real_services.py recorded (on the controller under xdist)."""
    for name, value in report.user_properties:
        if name == PHASES_PROPERTY:
            _phases.update(value)


def pytest_terminal_summary(terminalreporter) -> None:
    if _phases:
        terminalreporter.write_sep("-", PHASES_PROPERTY)
        for name, seconds in _phases.items():
            terminalreporter.write_line(f"{seconds:8.1f} s  {name}")


# Files that run whole generated suites or real services, longest first. Two workers take
# files in collection order (pyproject: --no-loadscope-reorder, instead of xdist's "most
# tests first", which left the few long tests of these files for last): starting the long
# ones first keeps one worker from idling while the other ends on a minute-long file.
LONGEST_FIRST = (
    "test_real_services.py",
    "test_project_tooling.py",
    "test_provider_distribution.py",
    "test_users_own_dags.py",
    "test_make_it_yours.py",
    "test_demo.py",
    "test_generation_safety.py",
    "test_benchmarks.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order
