"""Runs ``dags/lineage_orders.py`` with ``dag.test()`` in a process of its own, as a worker
would: Airflow loads its plugins (the OpenLineage listener among them, when a transport is
configured) from this process's environment, which the test sets.

Run as ``python lineage_run.py <ds>``; prints one JSON line: the run's state, each task's
state and the queries it published to XCom, and which lineage modules the process loaded.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

DAG_FILE = Path(__file__).resolve().parent / "dags" / "lineage_orders.py"
WATCHED = [
    "openlineage.client",
    "airflow.providers.openlineage.plugins.macros",
    "airflow.providers.openlineage.plugins.listener",
    "polars_cloud_provider.lineage.facets",
]


def main(ds: str) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    bag = DagBag(dag_folder=str(DAG_FILE))
    dag = bag.dags["lineage_orders"]
    run = dag.test(logical_date=datetime.fromisoformat(ds).replace(tzinfo=UTC))
    tasks = {}
    with create_session() as session:
        for ti in run.get_task_instances(session=session):
            row = session.execute(
                XComModel.get_many(
                    key="polars_queries", run_id=ti.run_id, dag_ids=ti.dag_id, task_ids=ti.task_id
                ).with_only_columns(XComModel.value)
            ).first()
            queries = [] if row is None else XComModel.deserialize_value(row)
            tasks[ti.task_id] = {"state": ti.state, "try": ti.try_number, "queries": queries}
    loaded = [name for name in WATCHED if name in sys.modules]
    print(json.dumps({"state": run.state, "tasks": tasks, "loaded": loaded}))


if __name__ == "__main__":
    main(sys.argv[1])
