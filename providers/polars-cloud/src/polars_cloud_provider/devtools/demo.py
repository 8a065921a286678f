"""``make demo``: ``make run`` for each DAG tagged ``demo`` (every DAG when none is), each for
its start date, on sample data (docs/design-devtools.md)."""

from __future__ import annotations

from typing import Any

from polars_cloud_provider.devtools import run
from polars_cloud_provider.devtools.project import Project

DEMO_TAG = "demo"


def main(project: Project, argv: list[str]) -> int:  # make demo takes no arguments
    env, dags = run.local_dags(project)
    dag_ids = chosen(dags)
    if not dag_ids:
        return run.refuse(
            "No DAG in dags/ to run: write one, e.g. make new-dag NAME=my_pipeline PATTERN=single."
        )
    runs = [(d, project.first_day(dags.dags[d])) for d in dag_ids]
    return run.run_dags(project, runs, env, "demo.log")


def chosen(dags: Any) -> list[str]:
    """The DAGs tagged ``demo``, or every DAG when none is."""
    tagged = sorted(dag_id for dag_id, dag in dags.dags.items() if DEMO_TAG in dag.tags)
    return tagged or sorted(dags.dags)
