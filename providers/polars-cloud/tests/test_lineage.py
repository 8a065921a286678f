"""OpenLineage: each @polars_task reports what it read and wrote and its queries, on both
backends; Polars Cloud queries nest under the task's run; nothing happens when it is off.

The end-to-end tests run ``dags/lineage_orders.py`` with ``dag.test()`` in a process of its
own (``lineage_run.py``) with a file transport: the OpenLineage provider's real listener,
loaded by Airflow as a plugin, writes the events (Airflow 3.3.2 calls listeners under
``dag.test()``: its task runner runs in-process and fires ``on_task_instance_running`` /
``_success``). A process of its own because Airflow loads its plugins once per process, from
the configuration of that moment. The cloud tests use the autospec fake of polars_cloud.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

pytest.importorskip("airflow.providers.openlineage", reason="the provider's extra 'openlineage'")

from airflow.providers.openlineage import conf as ol_conf
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
from polars_cloud_provider import compute, lineage
from polars_cloud_provider.lineage.facets import dataset_of
from test_polars_task import build, run

TESTS = Path(__file__).resolve().parent
RUNNER = TESTS / "lineage_run.py"
DS = "2026-01-01"
DAG_ID = "lineage_orders"
QUERY_TASKS = ["clean_orders", "orders_by_customer", "order_totals"]
MANIFEST = compute.Manifest("tests")
DATA_ROOT = "LINEAGE_DATA_ROOT"
SERVICE_ACCOUNT = {"login": "client-id", "password": "client-secret"}  # pragma: allowlist secret
OPENLINEAGE_SETTINGS = ("AIRFLOW__OPENLINEAGE__", "OPENLINEAGE_", "OPENLINEAGE__")


def write_inputs(root: Path) -> None:
    (root / "raw" / "orders").mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"customer_id": [1, 2, 1, 3], "amount": [10.0, 5.0, -1.0, 7.5]}).write_parquet(
        root / "raw" / "orders" / "part-0.parquet"
    )
    pl.DataFrame({"customer_id": [1, 2, 3], "name": ["ann", "bo", "cy"]}).write_parquet(
        root / "raw" / "customers.parquet"
    )


@pytest.fixture
def data_root(local_connection, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    write_inputs(root)
    monkeypatch.setenv(DATA_ROOT, str(root))
    for name in list(os.environ):
        if name.startswith(OPENLINEAGE_SETTINGS):
            monkeypatch.delenv(name)
    return root


def run_in_a_process_of_its_own(**env: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(RUNNER), DS],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,  # bounds a hang only
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def events_by_task(path: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        event = json.loads(line)
        dag_id, _, task_id = event["job"]["name"].partition(".")
        if dag_id == DAG_ID and task_id:
            found.setdefault(task_id, []).append(event)
    return found


def datasets(event: dict, key: str) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in event.get(key, [])]


def test_each_query_task_emits_start_and_complete_with_its_datasets_and_queries(
    airflow_db, data_root, tmp_path
) -> None:
    events_file = tmp_path / "events.jsonl"
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}

    result = run_in_a_process_of_its_own(
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport),
        # Every query of the deferrable task defers, however short: the deferred path is tested.
        AIRFLOW__POLARS_CLOUD__DEFER_AFTER_S="0",
    )

    assert result["state"] == "success", result
    events = events_by_task(events_file)
    assert sorted(events) == sorted(QUERY_TASKS)
    clean = f"{data_root}/curated/orders_clean/ds={DS}"
    read = {  # what each task body scans (its own intermediate result is not a dataset)
        "clean_orders": [f"{data_root}/raw/orders"],
        "orders_by_customer": [clean, f"{data_root}/raw/customers.parquet"],
        "order_totals": [clean],
    }
    written = {
        "clean_orders": [clean],
        "orders_by_customer": [f"{data_root}/curated/orders_by_customer/ds={DS}"],
        "order_totals": [],  # an execute whose result the body reads back: no dataset
    }
    for task_id in QUERY_TASKS:
        task_events = events[task_id]
        queries = result["tasks"][task_id]["queries"]
        # The OpenLineage listener emits a START each time a task instance starts running,
        # resumptions after a deferral included (listener.py, on_task_instance_running: only
        # sensors in reschedule mode are skipped): one more per query of the deferrable task.
        resumptions = len(queries) if task_id == "order_totals" else 0
        kinds = [event["eventType"] for event in task_events]
        assert kinds == ["START"] * (1 + resumptions) + ["COMPLETE"], (task_id, kinds)
        assert len({event["run"]["runId"] for event in task_events}) == 1
        complete = task_events[-1]
        # Really read: the files are there; really written: the sink's target has parquet.
        for path in read[task_id]:
            assert list(Path(path).parent.glob("*")) and Path(path).exists(), path
        for path in written[task_id]:
            assert list(Path(path).glob("*.parquet")), path
        assert datasets(complete, "inputs") == [("file", path) for path in read[task_id]]
        assert datasets(complete, "outputs") == [("file", path) for path in written[task_id]]
        sinks = [q["target"] for q in queries if q["kind"] == "sink"]
        assert [dataset_of(uri) for uri in sinks] == [("file", path) for path in written[task_id]]
        facets = complete["run"]["facets"]
        assert facets["externalQuery"]["externalQueryId"] == queries[-1]["query_id"]
        assert facets["externalQuery"]["source"] == "polars-local"
        listed = facets["polarsCloudQueries"]["queries"]
        assert [q["query_id"] for q in listed] == [q["query_id"] for q in queries]
    assert [q["kind"] for q in result["tasks"]["order_totals"]["queries"]] == ["execute"]


def test_without_a_transport_nothing_is_emitted_nor_loaded(airflow_db, data_root) -> None:
    result = run_in_a_process_of_its_own()

    assert result["state"] == "success", result
    # No listener, no OpenLineage client, no facets built: the task paid nothing for lineage.
    assert result["loaded"] == []


# -- in this process: the operator's facets and the cloud path -------------------------------


@pytest.fixture
def lineage_on(monkeypatch) -> None:
    """OpenLineage configured, as far as the provider's code asks (``lineage.enabled``): the
    listener plugin is not loaded in this process (see the module docstring)."""
    monkeypatch.setattr(lineage, "enabled", lambda: True)


@pytest.fixture
def operators(monkeypatch) -> list:
    """Each operator that ran a body, to ask for its facets afterwards (as the listener
    does: in the task process, after execute)."""
    seen: list = []
    real = lineage.recording

    def keeping(operator, context):
        seen.append(operator)
        return real(operator, context)

    monkeypatch.setattr(lineage, "recording", keeping)
    return seen


def copy_orders(ds: str | None = None) -> str:
    root = os.environ[DATA_ROOT]
    orders = compute.scan_parquet(f"{root}/raw/orders/*.parquet")
    return compute.sink(orders, f"{root}/curated/copy/ds={ds}/", on=MANIFEST)


def test_both_backends_report_the_same_datasets(
    airflow_db, data_root, fake_cloud, polars_cloud_connection, operators, lineage_on
) -> None:
    reported = {}
    for backend in ("local", "cloud"):
        extra = {"backend": backend} if backend == "local" else {"workspace": "tests"}
        polars_cloud_connection(
            login="id",
            password="secret",  # pragma: allowlist secret
            extra=extra,
        )
        dag, failures = build(f"lineage_{backend}", copy_orders)
        dag_run, _ = run(dag)
        assert dag_run.state == "success", failures
        facets = operators[-1].get_openlineage_facets_on_complete(None)
        reported[backend] = (facets.inputs, facets.outputs)
        source = facets.run_facets["externalQuery"].source
        assert source == f"polars-{backend}"
    inputs, outputs = reported["local"]
    assert reported["cloud"] == reported["local"]
    assert [(d.namespace, d.name) for d in inputs] == [("file", f"{data_root}/raw/orders")]
    assert [(d.namespace, d.name) for d in outputs] == [
        ("file", f"{data_root}/curated/copy/ds={DS}")
    ]
    [cloud_query] = (
        operators[-1]
        .get_openlineage_facets_on_complete(None)
        .run_facets["polarsCloudQueries"]
        .queries
    )
    assert cloud_query["query_id"] == fake_cloud.query_id
    assert cloud_query["link"] == (
        f"https://cloud.pola.rs/portal/{fake_cloud.workspace_id}/{fake_cloud.compute_id}"
        f"/queries/{fake_cloud.query_id}"
    )


def test_a_cloud_query_is_submitted_under_the_task_run(
    airflow_db, data_root, fake_cloud, cloud_connection, lineage_on
) -> None:
    dag, failures = build("lineage_nested", copy_orders)
    dag_run, _ = run(dag)

    assert dag_run.state == "success", failures
    namespace = ol_conf.namespace()
    # The run id the listener puts on this try's events (listener.py, on_running).
    run_id = OpenLineageAdapter.build_task_instance_run_id(
        dag_id="lineage_nested",
        task_id="work",
        try_number=1,
        logical_date=dag_run.logical_date,
        map_index=-1,
    )
    lazyframe_remote = fake_cloud.LazyFrameRemote.return_value
    lazyframe_remote.with_lineage.assert_called_once_with(
        job_namespace=namespace,
        job_name="lineage_nested.work" + lineage.QUERY_JOB_SUFFIX,
        parent_run_id=run_id,
        parent_job_namespace=namespace,
        parent_job_name="lineage_nested.work",
    )
    calls = [name for name, _, _ in lazyframe_remote.mock_calls]
    assert calls.index("with_lineage") < calls.index("distributed")  # it copies the lineage
    fake_cloud.plan.sink_parquet.assert_called_once()


@pytest.mark.parametrize("change", ["method absent", "arguments refused"])
def test_a_polars_cloud_without_a_working_with_lineage_still_submits(
    airflow_db, data_root, fake_cloud, cloud_connection, lineage_on, change, caplog
) -> None:
    lazyframe_remote = fake_cloud.LazyFrameRemote.return_value
    if change == "method absent":
        del lazyframe_remote.with_lineage
    else:  # what a release with other arguments raises
        lazyframe_remote.with_lineage.side_effect = TypeError(
            "with_lineage() got an unexpected keyword argument 'parent_run_id'"
        )
    lineage._warned.clear()
    dag, failures = build("lineage_unstable", copy_orders)
    dag_run, _ = run(dag)

    assert dag_run.state == "success", failures
    fake_cloud.plan.sink_parquet.assert_called_once_with(f"{data_root}/curated/copy/ds={DS}/")
    assert "queries run without an OpenLineage parent" in caplog.text


def test_with_openlineage_off_a_cloud_query_carries_no_lineage(
    airflow_db, data_root, fake_cloud, cloud_connection, operators
) -> None:
    dag, failures = build("lineage_off", copy_orders)
    dag_run, _ = run(dag)

    assert dag_run.state == "success", failures
    fake_cloud.LazyFrameRemote.return_value.with_lineage.assert_not_called()
    assert operators[-1]._lineage.parent is None


def test_reads_are_recorded_only_inside_a_task_body() -> None:
    compute.scan_parquet("s3://bucket/outside/*.parquet")  # no recording: nothing to keep
    with lineage.recording(SimpleNamespace(), context={}) as into:
        compute.scan_parquet(["s3://bucket/a/part-0.parquet", "s3://bucket/a/part-0.parquet"])
    assert into.reads == ["s3://bucket/a/part-0.parquet"]


@pytest.mark.parametrize(
    ("uri", "dataset"),
    [
        ("s3://bucket/raw/orders/*.parquet", ("s3://bucket", "raw/orders")),
        ("s3a://bucket/curated/x/ds=2026-01-01/", ("s3://bucket", "curated/x/ds=2026-01-01")),
        ("s3://bucket/raw/customers.parquet", ("s3://bucket", "raw/customers.parquet")),
        ("gs://bucket/raw/orders/", ("gs://bucket", "raw/orders")),
        (
            "abfss://data@account.dfs.core.windows.net/raw/o/",
            ("abfss://data@account.dfs.core.windows.net", "raw/o"),
        ),
        ("file:///data/raw/orders/*.parquet", ("file", "/data/raw/orders")),
        ("/data/curated/x/ds=2026-01-01/", ("file", "/data/curated/x/ds=2026-01-01")),
    ],
)
def test_a_uri_is_named_as_the_openlineage_naming_spec_says(uri, dataset) -> None:
    assert dataset_of(uri) == dataset


def test_a_relative_path_is_named_by_its_absolute_path(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    assert dataset_of("data/raw/orders/*.parquet") == ("file", f"{tmp_path}/data/raw/orders")
