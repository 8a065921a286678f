"""The "Polars Cloud query" extra link on a task's page."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink


class PolarsQueryLink(BaseOperatorLink):
    """The page of the task's query in Polars Cloud."""

    name = "Polars Cloud query"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # Airflow stores it under xcom_key (LINK_XCOM_KEY) at the end; pushed at submission.
        task_run = getattr(operator, "_task_run", None)  # the operator's running body
        return getattr(task_run, "link", None) or ""
