"""What each entry point imports: the local engine's child process and the command-line
tools never load Airflow (seconds, and in a task's child process it cannot even start: the
task's environment hides the metadata database), and nothing a DAG file imports loads polars,
polars_cloud or OpenLineage (the DAG processor parses every file often; lineage is built in
the task process, and only when a transport is configured)."""

from __future__ import annotations

import subprocess
import sys

import pytest

NO_AIRFLOW = [
    "polars_cloud_provider.engines.local_runner",
    "polars_cloud_provider.compute",
    "polars_cloud_provider.settings",
    "polars_cloud_provider.manifests.spec",
    "polars_cloud_provider.devtools",  # a project's dev.py, before it points Airflow home
]
NO_POLARS = [
    "polars_cloud_provider.decorators.polars_task",
    "polars_cloud_provider.compute",
    "polars_cloud_provider.operators.polars_task",
    "polars_cloud_provider.devtools",
]


NO_OPENLINEAGE = NO_POLARS
# Airflow's own provider discovery reads every installed provider's get_provider_info.
OPENLINEAGE_ALLOWED = {
    "airflow.providers.openlineage",
    "airflow.providers.openlineage.get_provider_info",
}


def loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("module", NO_AIRFLOW)
def test_loads_no_airflow(module: str) -> None:
    assert not {m for m in loaded_after(module) if m == "airflow" or m.startswith("airflow.")}


@pytest.mark.parametrize("module", NO_POLARS)
def test_loads_neither_polars_nor_polars_cloud(module: str) -> None:
    loaded = loaded_after(module)
    assert "polars" not in loaded
    assert "polars_cloud" not in loaded


@pytest.mark.parametrize("module", NO_OPENLINEAGE)
def test_loads_no_openlineage(module: str) -> None:
    loaded = {
        m
        for m in loaded_after(module)
        if m.split(".")[0] == "openlineage"
        or m.startswith("airflow.providers.openlineage")
        or m == "polars_cloud_provider.lineage.facets"
    }
    assert loaded <= OPENLINEAGE_ALLOWED, sorted(loaded - OPENLINEAGE_ALLOWED)


# What only a running task needs: a DAG file pays for every module it imports on every parse
# (about 15 ms for these together, measured with -X importtime), so they load at run time.
RUN_TIME_ONLY = {
    "polars_cloud_provider.compute.execution",
    "polars_cloud_provider.compute.failures",
    "polars_cloud_provider.hooks.polars_cloud",  # with the engines and the secrets lookup
    "polars_cloud_provider.lineage",
}


@pytest.mark.parametrize("module", NO_POLARS)
def test_what_a_dag_file_imports_leaves_the_run_time_machinery_unloaded(module: str) -> None:
    assert not RUN_TIME_ONLY & loaded_after(module), sorted(RUN_TIME_ONLY & loaded_after(module))
