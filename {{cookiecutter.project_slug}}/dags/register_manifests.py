"""Maintenance: register the manifests of ``manifests.toml`` from the workers themselves.

Trigger it by hand after the first deployment and after every deployment that changes the
polars or Python version of the worker image. Polars Cloud records the versions of the
process that registers a manifest and refuses the manifest to workers with other ones; it
compares the Python version including the patch, so a manifest registered from a laptop
(``make manifests``) is refused by workers whose image has another 3.11.x. Registering from
a task runs the workers' own interpreter, with the DAGs' own connection.

Params: ``check_only`` reports drift and changes nothing; ``force`` re-registers manifests
that look unchanged. With the local backend it only lists what it would register.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag
from polars_cloud_provider.decorators.polars_task import polars_task

from {{ cookiecutter.package_name }}.dag_defaults import DEFAULT_ARGS, START_DATE, tags

DAGS_FOLDER = Path(__file__).resolve().parent  # manifests.toml is beside it, or in it


@dag(
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=tags("maintenance"),
    params={
        "check_only": Param(False, type="boolean", description="report drift, change nothing"),
        "force": Param(False, type="boolean", description="re-register unchanged manifests"),
    },
    doc_md=__doc__,
)
def register_manifests() -> None:
    @polars_task
    def register(params: Any = None) -> list[str]:
        from polars_cloud_provider.manifests import worker

        params = params or {}
        return worker.register(
            DAGS_FOLDER, check_only=bool(params.get("check_only")), force=bool(params.get("force"))
        )

    register()


register_manifests()
