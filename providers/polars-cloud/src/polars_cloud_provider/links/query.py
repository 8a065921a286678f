"""The "Polars Cloud query" extra link on a task's page."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink


class PolarsQueryLink(BaseOperatorLink):
    """ "Polars Cloud query" in the task's UI: the page of the last query the task ran."""

    name = "Polars Cloud query"

    @property
    def xcom_key(self) -> str:
        # Imported here: the operator module, which every DAG file loads, imports this one.
        from polars_cloud_provider.compute.execution import LINK_XCOM_KEY

        return LINK_XCOM_KEY

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # Called in the worker when the task ends; Airflow stores the result under xcom_key,
        # where the UI reads it. The task also pushes it there as soon as a query starts,
        # so the link works while the query runs.
        return getattr(operator, "query_link", None) or ""
