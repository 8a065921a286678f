"""Who may stop which cluster, and what every query task must declare: the rules the DAG
integrity tests apply to whatever DAGs are in dags/ (never to a DAG by name).

- Every manifest a DAG uses is declared in manifests.toml.
- A manifest used by more than one DAG is *shared*: no DAG may stop it (it would stop it
  under the others' queries); its idle timeout stops it.
- A DAG may stop a manifest only if it is the manifest's only user and runs one run at a
  time (max_active_runs=1), with a teardown downstream of every task using the manifest.
- Cost guard: every cluster a task starts is stopped by something: ``immediate_shutdown``,
  such a teardown, or an idle timeout of at most ``dag_policy.MAX_UNSTOPPED_IDLE_MINS``
  (declared in manifests.toml for a manifest, on the Specs for a fire-and-forget query).
- A task that runs queries is a ``@polars_task`` (a plain ``@task`` cannot cancel its query
  on SIGTERM, defer or reattach), and one that sinks declares its output as an outlet.

Each problem is one sentence that names the DAG, the task and the fix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import dag_policy
from dag_inspection import STARTS_A_CLUSTER, clusters, compute_calls, task_callable
from polars_cloud_provider import compute
from polars_cloud_provider.operators.polars_task import PolarsTaskOperator

WAITS = frozenset({"sink", "execute"})
POLARS_DEFAULT_IDLE_MINS = 60  # what Polars Cloud uses when a manifest declares none


@dataclass(frozen=True)
class QueryTask:
    dag: Any
    task: Any
    calls: frozenset[str]
    clusters: tuple[compute.Manifest | compute.Specs, ...]

    @property
    def where(self) -> str:
        return f"{self.dag.dag_id}.{self.task.task_id}"

    def manifests(self) -> set[str]:
        return {_name(c) for c in self.clusters if isinstance(c, compute.Manifest)}


def query_tasks(dag: Any) -> list[QueryTask]:
    """The tasks of ``dag`` that call the compute helpers."""
    found = []
    for task in dag.tasks:
        fn = task_callable(task)
        calls = compute_calls(fn) if fn is not None else set()
        if calls:
            found.append(QueryTask(dag, task, frozenset(calls), tuple(clusters(fn))))
    return found


RULES = ("declared", "stopping", "bounded", "decorator", "outlets", "assets")


def problems(dags: Iterable[Any], declared: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every broken rule across ``dags``, by rule; ``declared``: manifest name -> spec."""
    dags = list(dags)
    tasks = [t for dag in dags for t in query_tasks(dag)]
    users: dict[str, set[str]] = defaultdict(set)
    for t in tasks:
        for name in t.manifests():
            users[name].add(t.dag.dag_id)
    found: dict[str, list[str]] = {rule: [] for rule in RULES}
    for t in tasks:
        found["decorator"] += _decorator(t)
        found["outlets"] += _outlets(t)
        found["declared"] += _declared(t, declared)
        if "shutdown" in t.calls:
            found["stopping"] += _stopper(t, users, tasks)
        if t.calls & STARTS_A_CLUSTER:
            found["bounded"] += _bounded(t, users, tasks, declared)
    found["assets"] += _scheduled_on_produced_assets(dags) + _slow_asset_uris(dags)
    return found


def _name(cluster: compute.Manifest) -> str:
    return cluster.name


def _stopped_by(t: QueryTask) -> set[str]:
    return t.manifests()


def _decorator(t: QueryTask) -> list[str]:
    if not (t.calls & STARTS_A_CLUSTER) or isinstance(t.task, PolarsTaskOperator):
        return []
    helpers = ", ".join(f"compute.{c}" for c in sorted(t.calls & STARTS_A_CLUSTER))
    return [
        f"{t.where} calls {helpers} from a plain @task: it cannot cancel its query when "
        "Airflow stops the task (SIGTERM), defer while it runs, or find it again on a retry. "
        "Decorate it with @polars_task (from the package's tasks module) instead of "
        "@task + @authenticate."
    ]


def _outlets(t: QueryTask) -> list[str]:
    assets = [o for o in t.task.outlets if getattr(o, "uri", None)]
    if "sink" in t.calls and not assets:
        return [
            f"{t.where} sinks an output but declares no outlet: add "
            "outlets=[assets.output('<dataset>')] to its @polars_task(...), so that DAGs "
            "scheduled on that dataset run when it is written."
        ]
    if t.calls & STARTS_A_CLUSTER == {"submit"} and assets:
        return [
            f"{t.where} only submits (fire-and-forget) but declares outlets: the asset event "
            "would say the data is there before the query has even run. Drop the outlets, or "
            "wait for the query with compute.sink."
        ]
    return []


def _declared(t: QueryTask, declared: Mapping[str, Any]) -> list[str]:
    return [
        f"{t.where} uses manifest {name!r}, which manifests.toml does not declare: add a "
        f'[[manifest]] table with name = "{name}", its size (cpus + memory_gb, or '
        "instance_type) and idle_timeout_mins, and register it (the register_manifests DAG)."
        for name in sorted(t.manifests() - set(declared))
    ]


def _stopper(t: QueryTask, users: Mapping[str, set[str]], tasks: list[QueryTask]) -> list[str]:
    found = []
    if not t.task.is_teardown:
        found.append(
            f"{t.where} stops a cluster but is not a teardown (trigger_rule="
            f"{t.task.trigger_rule}): a run whose query failed would end successful, hiding "
            "the failure. Make it the teardown `shutdown_cluster(...)` from the package's "
            "tasks module, downstream of every query task."
        )
    for name in sorted(_stopped_by(t)):
        others = sorted(users.get(name, set()) - {t.dag.dag_id})
        if others:
            found.append(
                f"{t.where} stops manifest {name!r}, which {', '.join(others)} also "
                f"use{'s' if len(others) == 1 else ''}: it would stop the cluster under their "
                "queries. Drop the shutdown (the manifest's idle timeout stops a shared "
                f"cluster), or give {t.dag.dag_id} a manifest of its own in manifests.toml."
            )
        elif t.dag.max_active_runs != 1:
            found.append(
                f"{t.where} stops manifest {name!r} at the end of every run, but "
                f"{t.dag.dag_id} allows max_active_runs={t.dag.max_active_runs}: one run would "
                "stop the cluster under another. Pass max_active_runs=1 to the DAG."
            )
        for user in tasks:
            if (
                user.dag is t.dag
                and user is not t
                and name in user.manifests()
                and user.calls & STARTS_A_CLUSTER
                and t.task.task_id not in user.task.get_flat_relative_ids(upstream=False)
            ):
                found.append(
                    f"{user.where} runs a query on manifest {name!r}, but the shutdown "
                    f"{t.task.task_id} is not downstream of it: the cluster may stop under "
                    f"the query, or stay up after it. Add `{user.task.task_id} >> "
                    f"{t.task.task_id}` (shutdown_cluster(...) downstream of every query)."
                )
    return found


def _bounded(
    t: QueryTask,
    users: Mapping[str, set[str]],
    tasks: list[QueryTask],
    declared: Mapping[str, Any],
) -> list[str]:
    """Cost guard: nothing may leave a cluster running until its idle timeout by accident."""
    if "immediate_shutdown" in t.calls:
        return []
    cap = dag_policy.MAX_UNSTOPPED_IDLE_MINS
    if not t.clusters:
        return [f"{t.where} starts a cluster the tests cannot see: pass on=CLUSTER explicitly."]
    found = []
    for cluster in t.clusters:
        if isinstance(cluster, compute.Specs):
            if t.calls & STARTS_A_CLUSTER == {"submit"} and _short(cluster.idle_timeout_mins):
                continue
            found.append(
                f"{t.where} starts an unnamed cluster that nothing stops: run its queries "
                "inside `with compute.immediate_shutdown(CLUSTER) as cluster:`, or (for a "
                f"fire-and-forget compute.submit only) give its Specs idle_timeout_mins <= {cap}."
            )
            continue
        name = _name(cluster)
        stoppers = [
            s
            for s in tasks
            if s.dag is t.dag
            and "shutdown" in s.calls
            and s.task.is_teardown
            and name in _stopped_by(s)
            and s.task.task_id in t.task.get_flat_relative_ids(upstream=False)
        ]
        if stoppers or name not in declared:
            continue  # stopped by its DAG (other rules check that this is allowed)
        idle = getattr(declared[name], "idle_timeout_mins", None)
        if _short(idle):
            continue  # stopped by its idle timeout
        shared = len(users.get(name, ())) > 1
        found.append(
            f"{t.where} starts a cluster of manifest {name!r} that nothing stops within "
            f"{cap} min: its idle timeout is {idle or POLARS_DEFAULT_IDLE_MINS} min"
            f"{'' if idle else ' (Polars Cloud default)'}. Declare idle_timeout_mins <= {cap} "
            f"for it in manifests.toml"
            + (
                " (it is shared, so no DAG may stop it)."
                if shared
                else ", or add the teardown shutdown_cluster(CLUSTER) downstream of every "
                "query task of the DAG (with max_active_runs=1)."
            )
        )
    return found


def _short(idle_timeout_mins: int | None) -> bool:
    return idle_timeout_mins is not None and idle_timeout_mins <= dag_policy.MAX_UNSTOPPED_IDLE_MINS


def _scheduled_on_produced_assets(dags: list[Any]) -> list[str]:
    produced = {
        (o.name, o.uri)
        for dag in dags
        for task in dag.tasks
        for o in task.outlets
        if getattr(o, "uri", None)
    }
    found = []
    for dag in dags:
        condition = getattr(dag.timetable, "asset_condition", None)
        for asset in getattr(condition, "objects", []) or []:
            if getattr(asset, "uri", None) and (asset.name, asset.uri) not in produced:
                found.append(
                    f"{dag.dag_id} is scheduled on asset {asset.name!r}, which no task in dags/ "
                    "declares as an outlet: the DAG would never run. Add it to the outlets of "
                    "the task that writes it."
                )
    return found


def _slow_asset_uris(dags: list[Any]) -> list[str]:
    """The first Asset whose URI has a scheme (``s3://``...) makes Airflow load every
    provider's URI handlers while the file is parsed: ~0.4 s on each parse (measured by the
    template's benchmark), ten times a trivial DAG's whole parse."""
    found = []
    for dag in dags:
        condition = getattr(dag.timetable, "asset_condition", None)
        declared = [("schedule", a) for a in getattr(condition, "objects", []) or []]
        declared += [(task.task_id, o) for task in dag.tasks for o in task.outlets]
        for where, asset in declared:
            uri = str(getattr(asset, "uri", ""))
            if "://" in uri and not uri.startswith("file://"):
                found.append(
                    f"{dag.dag_id}.{where} declares asset {asset.name!r} with the URI {uri!r}: "
                    "a URI with a scheme makes Airflow load every provider when the file is "
                    "parsed (~0.4 s a parse). Use assets.output(<dataset>), whose URI has none."
                )
    return found
