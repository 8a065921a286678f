"""``make demo``: the project's pipelines end to end on this machine, on sample data.

Runs the DAGs tagged ``demo`` (every DAG when none is) with the real Airflow CLI (``airflow
dags test``) on the local backend, each for its start date, and shows what they wrote: the
same as ``make run`` for each of them. Needs no cloud account and no configuration; input
files already in the local data root are used as they are, never overwritten, and a dataset
holding files of yours gets no sample days beside them.
"""

from __future__ import annotations

from {{ cookiecutter.package_name }}.dev import run

DEMO_TAG = "demo"


def main() -> int:
    env = run.use_local_airflow()
    dags = run.parse_dags()
    dag_ids = chosen(dags)
    if not dag_ids:
        return run.refuse(
            "No DAG in dags/ to run: write one, e.g. make new-dag NAME=my_pipeline PATTERN=single."
        )
    return run.run_dags([(d, run.first_day(dags.dags[d])) for d in dag_ids], env, "demo.log")


def chosen(dags) -> list[str]:
    """The DAGs tagged ``demo``, or every DAG when none is."""
    tagged = sorted(dag_id for dag_id, dag in dags.dags.items() if DEMO_TAG in dag.tags)
    return tagged or sorted(dags.dags)


if __name__ == "__main__":
    raise SystemExit(main())
