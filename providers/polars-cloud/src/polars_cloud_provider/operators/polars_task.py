"""The operator behind ``@polars_task``: a TaskFlow task that knows about its queries.

A plain ``@task`` runs the body and nothing more. This operator (the standard provider's
decorated Python operator, plus what the Databricks and BigQuery operators give their
users) also:

- **cancels** the queries it waits for when Airflow stops the task (``on_kill``: Airflow 3's
  task runner calls it on SIGTERM, task_runner.py ~l.1544);
- **defers** while a query runs (``deferrable=True``, default from Airflow's
  ``[operators] default_deferrable``) and resumes when the trigger fires;
- **reattaches** on a retry to the queries an earlier try started (``compute/execution.py``);
- shows a **link** to the query's page in Polars Cloud and pushes the query ids, workspace
  and cluster to XCom (key ``polars_queries``);
- adds, to the **asset events** of its outlets, the partitions its sinks wrote.

Importing this module is cheap (no polars, no polars_cloud): DAG files import it through
``tasks``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import conf
from airflow.sdk.bases.decorator import DecoratedOperator
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR

from polars_cloud_provider import settings
from polars_cloud_provider.links.query import PolarsQueryLink

# compute.execution, the hook (and its engines and secrets lookup) and lineage are imported
# when the task runs: a DAG file that uses the decorator would otherwise pay for them on
# every parse.
if TYPE_CHECKING:
    from airflow.sdk import Context

    from polars_cloud_provider.compute import execution

log = logging.getLogger(__name__)

_DS = re.compile(r"/ds=(\d{4}-\d{2}-\d{2})/?$")


class PolarsTaskOperator(DecoratedOperator, PythonOperator):
    """Runs a ``@polars_task`` body; see the module docstring."""

    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "templates_dict": "json",
        "op_args": "py",
        "op_kwargs": "py",
    }
    custom_operator_name = "@polars_task"
    operator_extra_links = (PolarsQueryLink(),)

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        polars_cloud_conn_id: str = settings.DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kwargs_to_upstream={
                "python_callable": python_callable,
                "op_args": op_args,
                "op_kwargs": op_kwargs,
            },
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )
        self.polars_cloud_conn_id = polars_cloud_conn_id
        self.deferrable = deferrable
        self.query_link: str | None = None
        self._task_run: execution.TaskRun | None = None

    def execute(self, context: Context) -> Any:
        return self._run_body(context, event=None)

    def resume_from_trigger(self, context: Context, event: dict[str, Any]) -> Any:
        """Run the body again after the trigger fired (see compute/execution.py)."""
        return self._run_body(context, event=event)

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context
    ) -> Any:
        if next_method == TRIGGER_FAIL_REPR:
            # The trigger failed (or its deferral timed out): Airflow resumes the task only to
            # raise TaskDeferralError (sdk/bases/operator.py, resume_execution). Its query
            # would run on unwatched: cancel it first.
            self._cancel_after_trigger_failure(context)
        return super().resume_execution(next_method, next_kwargs, context)

    def _cancel_after_trigger_failure(self, context: Context) -> None:
        from polars_cloud_provider.compute import execution
        from polars_cloud_provider.hooks.polars_cloud import PolarsCloudHook

        task_run = execution.TaskRun.from_context(
            context, deferrable=self.deferrable, conn_id=self.polars_cloud_conn_id
        )
        try:
            with (
                PolarsCloudHook(self.polars_cloud_conn_id).activated(),
                execution.running(task_run),
            ):
                task_run.abandon_after_trigger_failure()
        except Exception:
            log.exception("Could not cancel the query whose trigger failed; a retry asks it again")

    def _run_body(self, context: Context, event: dict[str, Any] | None) -> Any:
        from polars_cloud_provider.compute import execution
        from polars_cloud_provider.hooks.polars_cloud import PolarsCloudHook
        from polars_cloud_provider.lineage import task as lineage

        task_run = execution.TaskRun.from_context(
            context, deferrable=self.deferrable, conn_id=self.polars_cloud_conn_id, event=event
        )
        self._task_run = task_run
        try:
            with (
                PolarsCloudHook(self.polars_cloud_conn_id).activated(),
                execution.running(task_run),
                lineage.recording(self, context),  # OpenLineage inputs (lineage/)
            ):
                result = super().execute(context)
        finally:
            self.query_link = task_run.link
        task_run.finished()
        self._describe_asset_events(context, task_run)
        return result

    # -- OpenLineage (lineage/): the listener of apache-airflow-providers-openlineage asks --
    def get_openlineage_facets_on_start(self) -> Any:
        from polars_cloud_provider.lineage import task as lineage

        return lineage.operator_lineage(self)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from polars_cloud_provider.lineage import task as lineage

        return lineage.operator_lineage(self)

    def on_kill(self) -> None:
        if self._task_run is not None:
            self._task_run.stop(
                f"Airflow stopped task {self.task_id} while it waited for a Polars query"
            )

    def _describe_asset_events(self, context: Context, task_run: execution.TaskRun) -> None:
        """Say which partitions (and queries) each outlet's event stands for."""
        events = context.get("outlet_events")
        if events is None:
            return
        for outlet in self.outlets:
            name = getattr(outlet, "name", None)
            if not isinstance(name, str) or not name:
                continue
            # An output asset is the dataset of that name: the folder its partitions go to.
            record = task_run.record
            if record is None or record.kind != "sink" or f"/{name}/" not in (record.target or ""):
                continue
            extra = events[outlet].extra
            extra["partitions"] = [record.target]
            extra["query_ids"] = [record.query_id]
            if found := _DS.search(record.target or ""):
                extra["ds"] = [found.group(1)]
