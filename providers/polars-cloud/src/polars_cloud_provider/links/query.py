"""The "Polars Cloud query" extra link on a task's page."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink


class PolarsQueryLink(BaseOperatorLink):
    """The page of the task's query in Polars Cloud."""

    name = "Polars Cloud query"

    @property
    def xcom_key(self) -> str:
        # Imported here: the operator module, which every DAG file loads, imports this one.
        from polars_cloud_provider.compute.execution import LINK_XCOM_KEY

        return LINK_XCOM_KEY

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # Stored under xcom_key when the task ends; the task pushes it there at submission.
        task_run = getattr(operator, "_task_run", None)  # the operator's running body
        return getattr(task_run, "link", None) or ""
