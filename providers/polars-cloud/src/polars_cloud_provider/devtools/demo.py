"""``make demo``: the project's pipelines end to end on this machine, on sample data.

Runs the DAGs tagged ``demo`` (every DAG when none is) with the real Airflow CLI (``airflow
dags test``) on the local backend, each for its start date, and shows what they wrote: the
same as ``make run`` for each of them. Needs no cloud account and no configuration; input
files already in the local data root are used as they are, never overwritten, and a dataset
holding files of yours gets no sample days beside them.
"""

from __future__ import annotations

from typing import Any

from polars_cloud_provider.devtools import run
from polars_cloud_provider.devtools.project import Project

DEMO_TAG = "demo"


def main(project: Project, argv: list[str]) -> int:  # make demo takes no arguments
    env = run.use_local_airflow(project)
    dags = run.parse_dags()
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
