"""``make demo``: the project's pipelines end to end on this machine, on sample data.

Runs the DAGs tagged ``demo`` (every DAG when none is) with the real Airflow CLI (``airflow
dags test``) on the local backend, each for its start date, and shows what they wrote: the
same as ``make run`` for each of them. Needs no cloud account and no configuration; input
files already in the local data root are used as they are, never overwritten.
"""

from __future__ import annotations

from {{ cookiecutter.package_name }}.dev import run

DEMO_TAG = "demo"


def main() -> int:
    env = run.use_local_airflow()
    dags = run.parse_dags().dags
    chosen = sorted(d for d, dag in dags.items() if DEMO_TAG in dag.tags) or sorted(dags)
    if not chosen:
        return run.refuse(
            "No DAG in dags/ to run: write one, e.g. make new-dag NAME=my_pipeline PATTERN=single."
        )
    runs = [(dag_id, run.first_day(dags[dag_id])) for dag_id in chosen]
    return run.run_dags(runs, env, "demo.log")


if __name__ == "__main__":
    raise SystemExit(main())
