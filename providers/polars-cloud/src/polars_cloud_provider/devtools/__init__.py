"""Tools for working on a project on this machine: a local Airflow, sample data, ``make demo``,
``make run`` and ``make new-dag``. Nothing here runs in a deployment.

A project describes itself in a ``Project`` and calls ``main`` from its own entry module::

    raise SystemExit(devtools.main(project, sys.argv[1:]))

Each command imports what it needs when it runs (Airflow and polars are not cheap).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from polars_cloud_provider.devtools.project import Project, ProjectSettings, SampleFrame
from polars_cloud_provider.devtools.sample_data import SampleData, SampleDataRefused

__all__ = [
    "COMMANDS",
    "Project",
    "ProjectSettings",
    "SampleData",
    "SampleDataRefused",
    "SampleFrame",
    "main",
]


def _demo(project: Project, argv: list[str]) -> int:
    from polars_cloud_provider.devtools import demo

    return demo.main(project, argv)


def _run(project: Project, argv: list[str]) -> int:
    from polars_cloud_provider.devtools import run

    return run.main(project, argv)


def _new_dag(project: Project, argv: list[str]) -> int:
    from polars_cloud_provider.devtools import new_dag

    return new_dag.main(project, argv)


def _airflow(project: Project, argv: list[str]) -> int:
    from polars_cloud_provider.devtools import local_airflow

    return local_airflow.main(project, argv)


def _sample_data(project: Project, argv: list[str]) -> int:
    from polars_cloud_provider.devtools import sample_data

    return sample_data.main(project, argv)


COMMANDS: dict[str, tuple[Callable[[Project, list[str]], int], str]] = {
    "demo": (_demo, "the DAGs tagged demo (else all) on sample data: make demo"),
    "run": (_run, "one DAG for one day: make run DAG=<dag_id> [DS=YYYY-MM-DD]"),
    "new-dag": (_new_dag, "a DAG from a pattern: make new-dag NAME=<dag_id> PATTERN=<pattern>"),
    "airflow": (_airflow, "the Airflow CLI on the local Airflow: airflow standalone, dags list"),
    "sample-data": (_sample_data, "write sample data: sample-data --rows N [--ds DAY ...]"),
}


def main(project: Project, argv: list[str]) -> int:
    """Run the command ``argv[0]`` with the arguments after it; 2 and a usage if unknown."""
    if not argv or argv[0] not in COMMANDS:
        lines = [f"  {name:<12} {about}" for name, (_, about) in COMMANDS.items()]
        usage = f"usage: python -m {project.package}.dev <command> [arguments]"
        print("\n".join([usage, *lines]), file=sys.stderr)
        return 2
    command, _ = COMMANDS[argv[0]]
    return command(project, argv[1:])
