"""Every DAG's queries build against its inputs' schemas, before anything runs.

A query that names a missing column, mixes types or calls something Polars removed fails
here in milliseconds, with the DAG, the task and Polars' own message (see dag_plans.py).
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import polars as pl
import pytest
from airflow.sdk import dag
from conftest import DAG_IDS, first_day, parsed_dag
from dag_plans import plan
from expected import OUTPUTS, output_name
from polars_cloud_provider import compute
from polars_cloud_provider.decorators.polars_task import polars_task

from {{ cookiecutter.package_name }} import datasets, settings


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_query_builds_against_its_inputs_schemas(dag_id) -> None:
    found = parsed_dag(dag_id)
    planned = plan(found, first_day(found))
    assert planned.problems == [], "\n".join(planned.problems)
    for task_id, why in planned.unplanned.items():  # left to the end-to-end run
        warnings.warn(f"{dag_id}.{task_id} was not planned: it {why}", stacklevel=1)


def test_no_two_dags_write_one_output() -> None:
    """Two DAGs writing one output would replace each other's ds partitions (and share one
    asset): each output dataset has one writer."""
    writers: dict[str, set[str]] = {}
    for dag_id in DAG_IDS:
        found = parsed_dag(dag_id)
        for folder in plan(found, first_day(found)).outputs:
            writers.setdefault(folder.split("/")[-2], set()).add(dag_id)  # curated/<name>/ds=
    shared = {name: sorted(dag_ids) for name, dag_ids in writers.items() if len(dag_ids) > 1}
    assert shared == {}, f"outputs written by several DAGs (rename one): {shared}"


def test_every_exact_expectation_is_of_an_output_a_dag_writes() -> None:
    """An entry of expected.py for an output no DAG writes any more (an example deleted) is
    reported, not kept silently: it checks nothing."""
    written = set()
    for dag_id in DAG_IDS:
        found = parsed_dag(dag_id)
        written |= {output_name(folder) for folder in plan(found, first_day(found)).outputs}
    stale = sorted(set(OUTPUTS) - written)
    if stale:
        warnings.warn(
            f"tests/expected.py has expectations for outputs no DAG in dags/ writes: "
            f"{', '.join(stale)}. Delete them from OUTPUTS (or restore the DAG writing them).",
            stacklevel=1,
        )


ORDERS = {"order_id": pl.Int64, "status": pl.String, "amount": pl.Decimal(10, 2)}
"""An input of the test's own: the tests below do not depend on the project's datasets."""

# The guide's row count, removed in polars 2.0, named indirectly so that no shipped file
# carries the call for a reader to copy.
_REMOVED_COUNT = getattr(pl, "count")  # noqa: B009
BROKEN_QUERIES = {
    "removed call": (lambda orders: orders.group_by("status").agg(_REMOVED_COUNT()), "pl.len()"),
    "unknown column": (lambda orders: orders.select("amount_eur"), "ColumnNotFoundError"),
    "type clash": (
        lambda orders: orders.select(pl.col("status") + pl.col("order_id")),
        "InvalidOperationError",
    ),
}


def _one_query_dag(builder, dataset: str = "orders"):
    """A DAG like the user's: one task reading ``dataset`` through ``builder`` and a sink."""

    @dag(schedule=None, start_date=datetime(2024, 2, 1, tzinfo=UTC), catchup=False)
    def users_pipeline() -> None:
        @polars_task
        def summarize(ds: str | None = None) -> str:
            query = builder(datasets.source(dataset, ds))
            target = datasets.partition_uri("summary", ds)
            return compute.sink(query, target, on=settings.load().manifest_cluster())

        summarize()

    return users_pipeline()


@pytest.mark.parametrize("broken", BROKEN_QUERIES, ids=list(BROKEN_QUERIES))
def test_a_broken_query_is_named_with_its_dag_task_and_the_polars_error(broken) -> None:
    builder, polars_says = BROKEN_QUERIES[broken]

    planned = plan(_one_query_dag(builder), "2024-02-01", {"orders": ORDERS})

    [problem] = planned.problems
    assert problem.startswith("users_pipeline.summarize: "), problem
    assert polars_says in problem


def test_a_sound_query_plans_and_says_what_it_reads_and_writes() -> None:
    sound = _one_query_dag(lambda orders: orders.select("status"))
    planned = plan(sound, "2024-02-01", {"orders": ORDERS})

    assert planned.problems == []
    assert planned.inputs == ["orders"]
    assert planned.outputs == ["curated/summary/ds=2024-02-01"]
    assert planned.retryable


def test_an_input_without_sample_data_names_the_dataset_the_dag_and_where_to_add_it() -> None:
    planned = plan(_one_query_dag(lambda frame: frame, "web_events"), "2024-02-01", {})

    [problem] = planned.problems
    assert "DAG 'users_pipeline' reads input 'web_events', which has no sample data" in problem
    assert "/samples/web_events.py with a function frame(" in problem
