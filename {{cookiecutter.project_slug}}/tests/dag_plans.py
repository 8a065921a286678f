"""What each DAG reads and writes, found by building its queries without running them.

``plan(dag)`` calls the callable of every task that runs queries, in dependency order, with
a planning backend active: ``datasets.source(name)`` is an empty LazyFrame with the schema
of ``name``'s sample data, ``execute`` returns stand-in locations that ``datasets.scan``
turns back into the upstream query's schema, and ``sink``/``submit`` resolve their query's
schema with ``collect_schema()``. ``datasets.output(name, ds)`` (another DAG's output) has
the schema the DAG writing it sinks. Polars checks a plan's columns and types while resolving
its schema, so a misspelt column, a type clash or a call removed from Polars fails here, in
milliseconds, naming the DAG and the task. The same pass tells the other tests which
datasets each DAG reads (inputs, and outputs of other DAGs), which outputs it writes and
which of its tasks wait for a query.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from airflow.sdk.definitions.xcom_arg import PlainXComArg, XComArg
from dag_inspection import STARTS_A_CLUSTER, compute_calls, task_callable
from polars_cloud_provider.engines import backend
from polars_cloud_provider.engines.backend import Outcome

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.dev import sample_data

WAITS = frozenset({"sink", "execute"})
"""The helpers that wait for their query: a failure there fails (and retries) the task."""


@dataclass
class TaskPlan:
    task_id: str
    calls: set[str]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # folders, relative to the data root
    upstream: list[str] = field(default_factory=list)  # outputs of other DAGs it reads


@dataclass
class DagPlan:
    dag_id: str
    ds: str
    tasks: dict[str, TaskPlan] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unplanned: dict[str, str] = field(default_factory=dict)  # task id -> why
    written: dict[str, pl.Schema] = field(default_factory=dict)  # output name -> schema

    @property
    def inputs(self) -> list[str]:
        return sorted({name for task in self.tasks.values() for name in task.inputs})

    @property
    def upstream(self) -> list[str]:
        """The outputs of other DAGs it reads (``datasets.output``)."""
        return sorted({name for task in self.tasks.values() for name in task.upstream})

    @property
    def outputs(self) -> list[str]:
        return sorted({folder for task in self.tasks.values() for folder in task.outputs})

    @property
    def awaited_outputs(self) -> list[str]:
        """Outputs of tasks that wait for their query (not fire-and-forget)."""
        return sorted({f for t in self.tasks.values() if t.calls & WAITS for f in t.outputs})

    @property
    def retryable(self) -> bool:
        """Some task waits for its query: a failure after it fails the task, then a retry."""
        return any(task.calls & WAITS for task in self.tasks.values())


class NoSampleData(LookupError):
    pass


class NoWriter(LookupError):
    pass


class _Unplannable(Exception):
    pass


@dataclass
class _Query:
    query_id: str
    schema: pl.Schema


LocalBackend = type(backend.select("local"))  # wherever the local backend's module puts it


class PlanningBackend(LocalBackend):
    """The local backend's contract, with schemas in place of data."""

    name = "plan"

    def __init__(
        self, result: DagPlan, schemas: Mapping[str, pl.Schema], written: Mapping[str, pl.Schema]
    ) -> None:
        self.dag_id, self.schemas, self.written = result.dag_id, schemas, written
        self.plan = result
        self.task: TaskPlan | None = None
        self.results: dict[str, pl.Schema] = {}
        self.ids = itertools.count(1)

    def plan_scan(
        self, uris: str | list[str], dataset: str | None, produced: bool = False
    ) -> pl.LazyFrame:
        if dataset is not None and produced:
            if dataset not in self.written and isinstance(self.written, _WrittenByOthers):
                raise NoWriter(
                    f"DAG {self.dag_id!r} reads the output {dataset!r} (datasets.output), which "
                    "no DAG in dags/ writes: restore the DAG that writes it, delete this one "
                    "too, or read it as an input (datasets.source) with sample data."
                )
            if dataset not in self.written:
                raise _Unplannable(f"reads the output {dataset!r}, which no planned DAG writes")
            self.task.upstream.append(dataset)
            return pl.LazyFrame(schema=self.written[dataset])
        if dataset is not None:
            if dataset not in self.schemas:
                raise NoSampleData(
                    f"DAG {self.dag_id!r} reads input {dataset!r}, which has no sample data: "
                    f"{sample_data.how_to_add(dataset)}"
                )
            self.task.inputs.append(dataset)
            return pl.LazyFrame(schema=self.schemas[dataset])
        locations = [uris] if isinstance(uris, str) else list(uris)
        unknown = [uri for uri in locations if uri not in self.results]
        if unknown or not locations:
            raise _Unplannable(f"reads {unknown or uris}, which no planned query left behind")
        return pl.LazyFrame(schema=self.results[locations[0]])

    def start(self, handle: Any, lf: pl.LazyFrame, mode: str, sink_uri: str | None) -> _Query:
        query = _Query(f"plan-{next(self.ids)}", lf.collect_schema())
        if sink_uri is not None:
            root = f"{settings.load().data_root}/"
            folder = sink_uri.removeprefix(root).rstrip("/")
            self.task.outputs.append(folder)
            self.plan.written[folder.split("/")[-2]] = query.schema  # curated/<name>/ds=<date>
        return query

    def query_id(self, query: _Query) -> str:
        return query.query_id

    def wait(self, query: _Query, timeout_s: float | None) -> Outcome:
        location = f"plan://{self.dag_id}/{query.query_id}/part-0.parquet"
        self.results[location] = query.schema
        return Outcome(query_id=query.query_id, locations=[location])

    def detach(self, query: _Query) -> None:
        return None

    def stop(self, handle: Any) -> bool:
        return False


@functools.cache
def sample_schemas(ds: str) -> dict[str, pl.Schema]:
    """The schema of every dataset with sample data (the day ``ds`` of partitioned ones)."""
    return {name: sample_data.frame(name, rows=1, ds=ds).schema for name in sample_data.names()}


def plan(
    dag,
    ds: str,
    schemas: Mapping[str, pl.Schema] | None = None,
    written: Mapping[str, pl.Schema] | None = None,
) -> DagPlan:
    """Build every query of ``dag`` for the logical date ``ds`` without running any, its
    inputs having the schemas of their sample data (or ``schemas``), and the outputs of other
    DAGs it reads the schemas those DAGs write (or ``written``)."""
    result = DagPlan(dag.dag_id, ds)
    inputs = sample_schemas(ds) if schemas is None else schemas
    planner = PlanningBackend(result, inputs, _WrittenByOthers(ds) if written is None else written)
    returned: dict[str, Any] = {}
    context = _context(dag, ds)
    for task in _in_dependency_order(dag):
        fn = task_callable(task)
        calls = compute_calls(fn) if fn is not None else set()
        if not calls & STARTS_A_CLUSTER:
            continue  # nothing to plan (a shutdown, a task without queries)
        planner.task = result.tasks[task.task_id] = TaskPlan(task.task_id, calls)
        try:
            args, kwargs = _arguments(task, inspect.unwrap(fn), returned, context)
            with backend.activated(planner):
                returned[task.task_id] = inspect.unwrap(fn)(*args, **kwargs)
        except _Unplannable as why:
            result.unplanned[task.task_id] = str(why)
        except (NoSampleData, NoWriter) as error:
            result.problems.append(str(error))
        except Exception as error:
            message = str(error).strip()
            result.problems.append(
                f"{dag.dag_id}.{task.task_id}: {type(error).__name__}: {message}"
            )
    return result


class _WrittenByOthers(Mapping):
    """The schema of each output some DAG in dags/ writes, planned only when first asked."""

    def __init__(self, ds: str) -> None:
        self.ds = ds

    def __getitem__(self, name: str) -> pl.Schema:
        return writers(self.ds)[name][1]

    def __iter__(self):
        return iter(writers(self.ds))

    def __len__(self) -> int:
        return len(writers(self.ds))


@functools.cache
def writers(ds: str) -> dict[str, tuple[str, pl.Schema]]:
    """``{output: (dag id, schema)}`` for every output a DAG in dags/ writes on day ``ds``.

    Planned until nothing new appears, so that a DAG reading another's output (which may
    read a third's) finds it whatever the order of the files.
    """
    from conftest import parsed_dags

    found: dict[str, tuple[str, pl.Schema]] = {}
    while True:
        known = {name: schema for name, (_, schema) in found.items()}
        before = len(found)
        for dag in parsed_dags().dags.values():
            for name, schema in plan(dag, ds, written=known).written.items():
                found.setdefault(name, (dag.dag_id, schema))
        if len(found) == before:
            return found


def _in_dependency_order(dag) -> list:
    done: list = []
    seen: set[str] = set()

    def visit(task) -> None:
        if task.task_id in seen:
            return
        seen.add(task.task_id)
        for upstream in sorted(task.upstream_list, key=lambda t: t.task_id):
            visit(upstream)
        done.append(task)

    for task in sorted(dag.tasks, key=lambda t: t.task_id):
        visit(task)
    return done


def _context(dag, ds: str) -> dict[str, Any]:
    """The context values a task can take as arguments, for a run of ``ds``."""
    start = datetime.fromisoformat(ds).replace(tzinfo=UTC)
    return {
        "ds": ds,
        "ds_nodash": ds.replace("-", ""),
        "logical_date": start,
        "data_interval_start": start,
        "data_interval_end": start + timedelta(days=1),
        "ts": start.isoformat(),
        "run_id": f"plan__{ds}",
        "params": dict(dag.params or {}),
    }


def _arguments(task, fn, returned: dict[str, Any], context: dict[str, Any]):
    def resolve(value: Any) -> Any:
        if isinstance(value, PlainXComArg):
            upstream = value.operator.task_id
            if value.key != "return_value" or upstream not in returned:
                raise _Unplannable(f"takes what {upstream} returns, which was not planned")
            return returned[upstream]
        if isinstance(value, XComArg):
            raise _Unplannable(f"takes {value!r}")
        if isinstance(value, list | tuple):
            return type(value)(resolve(item) for item in value)
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        return value

    if getattr(task, "is_mapped", False):
        raise _Unplannable("is mapped")
    args = [resolve(value) for value in getattr(task, "op_args", None) or []]
    kwargs = {
        key: resolve(value) for key, value in (getattr(task, "op_kwargs", None) or {}).items()
    }
    parameters = list(inspect.signature(fn).parameters.values())[len(args) :]
    for parameter in parameters:
        if parameter.name in kwargs or parameter.kind in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            continue
        if parameter.name in context:
            kwargs[parameter.name] = context[parameter.name]
        elif parameter.default is parameter.empty:
            raise _Unplannable(f"needs {parameter.name!r}, which a plan cannot give")
    return args, kwargs
