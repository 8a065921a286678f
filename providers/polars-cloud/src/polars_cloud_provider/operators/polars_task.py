"""The operator behind ``@polars_task``: a TaskFlow task running one Polars query, which it
cancels on ``on_kill``, defers on, reattaches to on retry, links to, and names in its outlets'
asset events (``docs/design-polars-task.md``). Cheap to import: DAG files import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import conf
from airflow.sdk.bases.decorator import DecoratedOperator
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR

from polars_cloud_provider import settings
from polars_cloud_provider.links.query import PolarsQueryLink

# What only a running task needs (execution, the hook, lineage) is imported when it runs.
if TYPE_CHECKING:
    from airflow.sdk import Context

    from polars_cloud_provider.compute import execution

_DS = re.compile(r"/ds=(\d{4}-\d{2}-\d{2})/?$")


class PolarsTaskOperator(DecoratedOperator, PythonOperator):
    # PythonOperator's (templates_dict too), not DecoratedOperator's, first in the MRO.
    template_fields: Sequence[str] = PythonOperator.template_fields
    template_fields_renderers: ClassVar[dict[str, str]] = PythonOperator.template_fields_renderers
    custom_operator_name = "@polars_task"
    operator_extra_links = (PolarsQueryLink(),)

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        polars_cloud_conn_id: str = settings.DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        upstream = {name: kwargs.get(name) for name in ("op_args", "op_kwargs")}
        super().__init__(
            kwargs_to_upstream={"python_callable": python_callable, **upstream},
            python_callable=python_callable,
            **kwargs,
        )
        self.polars_cloud_conn_id = polars_cloud_conn_id
        self.deferrable = deferrable
        self._task_run: execution.TaskRun | None = None

    def execute(self, context: Context) -> Any:
        return self.resume_from_trigger(context, event=None)

    def resume_from_trigger(self, context: Context, event: dict[str, Any] | None) -> Any:
        """Run the body: first, or again with the trigger's event once it fired."""
        from polars_cloud_provider import lineage

        with self._running(context, event) as task_run, lineage.recording(self, context):
            result = super().execute(context)
        task_run.finished()
        self._describe_asset_events(context, task_run.record)
        return result

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context
    ) -> Any:
        if next_method == TRIGGER_FAIL_REPR:
            # The trigger failed (or its deferral timed out): Airflow resumes the task only to
            # raise TaskDeferralError (sdk/bases/operator.py). Cancel its query first.
            try:
                with self._running(context, None) as task_run:
                    task_run.abandon_after_trigger_failure()
            except Exception:
                self.log.exception("Could not cancel the failed trigger's query; a retry asks it")
        return super().resume_execution(next_method, next_kwargs, context)

    @contextmanager
    def _running(
        self, context: Context, event: dict[str, Any] | None
    ) -> Iterator[execution.TaskRun]:
        from polars_cloud_provider.compute import execution
        from polars_cloud_provider.hooks.polars_cloud import PolarsCloudHook

        task_run = execution.TaskRun.from_context(
            context, deferrable=self.deferrable, conn_id=self.polars_cloud_conn_id, event=event
        )
        self._task_run = task_run  # for on_kill
        with PolarsCloudHook(self.polars_cloud_conn_id).activated(), execution.running(task_run):
            yield task_run

    # The listener of apache-airflow-providers-openlineage asks for these (lineage/).
    def get_openlineage_facets_on_start(self) -> Any:
        from polars_cloud_provider import lineage

        return lineage.operator_lineage(self)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self.get_openlineage_facets_on_start()

    def on_kill(self) -> None:
        if self._task_run is not None:
            self._task_run.stop(f"Airflow stopped task {self.task_id} during its Polars query")

    def _describe_asset_events(self, context: Context, record: execution.Record | None) -> None:
        """Name the partition (and query) a sink wrote in the event of its outlet."""
        events = context.get("outlet_events")
        if events is None or record is None or record.kind != "sink" or not record.target:
            return
        for outlet in self.outlets:
            # An output asset is the dataset of that name: the folder its partitions go to.
            name = getattr(outlet, "name", None)
            if isinstance(name, str) and name and f"/{name}/" in record.target:
                extra = events[outlet].extra
                extra["partitions"], extra["query_ids"] = [record.target], [record.query_id]
                if found := _DS.search(record.target):
                    extra["ds"] = [found.group(1)]
