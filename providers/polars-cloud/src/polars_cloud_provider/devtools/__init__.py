"""Tools for working on a project on this machine (docs/design-devtools.md): a local Airflow,
sample data, ``make demo``, ``make run`` and ``make new-dag``. Nothing here runs in a
deployment. A project's entry module calls ``raise SystemExit(devtools.main(project, argv))``.
"""

from __future__ import annotations

import importlib
import sys

from polars_cloud_provider.devtools.project import Project, ProjectSettings, SampleFrame
from polars_cloud_provider.devtools.sample_data import SampleData, SampleDataRefused

__all__ = ["Project", "ProjectSettings", "SampleData", "SampleDataRefused", "SampleFrame"]

# command -> (its module, imported when it runs: Airflow and polars are not cheap; its usage)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "the DAGs tagged demo (else all) on sample data: make demo"),
    "run": ("run", "one DAG for one day: make run DAG=<dag_id> [DS=YYYY-MM-DD]"),
    "new-dag": ("new_dag", "a DAG from a pattern: make new-dag NAME=<dag_id> PATTERN=<pattern>"),
    "airflow": ("local_airflow", "the local Airflow's CLI: airflow standalone, dags list"),
    "sample-data": ("sample_data", "write sample data: sample-data --rows N [--ds DAY ...]"),
}


def main(project: Project, argv: list[str]) -> int:
    """Run the command ``argv[0]`` with the arguments after it; 2 and a usage if unknown."""
    if not argv or argv[0] not in COMMANDS:
        lines = [f"  {name:<12} {about}" for name, (_, about) in COMMANDS.items()]
        usage = f"usage: python -m {project.package}.dev <command> [arguments]"
        print("\n".join([usage, *lines]), file=sys.stderr)
        return 2
    module = importlib.import_module(f"{__name__}.{COMMANDS[argv[0]][0]}")
    return module.main(project, argv[1:])
