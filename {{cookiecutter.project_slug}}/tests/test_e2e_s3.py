"""A DAG against S3: moto's server on 127.0.0.1 is a real S3 API over HTTP.

Compute stays local; inputs are read from and outputs written to ``s3://``, with the
endpoint and keys coming from the environment as they would for any S3-compatible store.
"""

from __future__ import annotations

import json

import boto3
import polars as pl
import pytest
from conftest import DAG_IDS, first_day, parsed_dag, parsed_dags, run_dag
from dag_plans import plan
from expected import OUTPUTS, assert_output_matches, output_name
from moto.server import ThreadedMotoServer
from polars_cloud_provider import compute
from polars_cloud_provider.hooks.polars_cloud import authenticate
from sample_runs import sample_rows

from {{ cookiecutter.package_name }} import datasets, settings
from {{ cookiecutter.package_name }}.dev import sample_data

BUCKET = "e2e-data"
ROWS = 1_000


@pytest.fixture(scope="module")
def s3(airflow_db):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {
        "AWS_ACCESS_KEY_ID": "moto-test-key",
        "AWS_SECRET_ACCESS_KEY": "moto-test-secret",  # pragma: allowlist secret
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in credentials.items():
                patch.setenv(name, value)
            patch.setenv(settings.env_var("data_root"), f"s3://{BUCKET}/warehouse")
            conn_id = settings.load().conn_id
            connection = {"conn_type": "polars_cloud", "extra": {"backend": "local"}}
            patch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            yield client
    finally:
        server.stop()


def keys(client, prefix: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _io(dag_id: str) -> tuple[int, int]:
    dag = parsed_dags().dags.get(dag_id)
    if dag is None:
        return (0, 0)
    planned = plan(dag, first_day(dag))
    partitioned = [name for name in planned.inputs if name in datasets.PARTITIONED_BY_DS]
    return (len(partitioned), len(planned.inputs) + len(planned.awaited_outputs))


@pytest.fixture(scope="module")
def busiest_dag():
    """The DAG with the most storage to go through (day partitions first), any name."""
    dag_id = max(DAG_IDS, key=lambda d: (*_io(d), d), default=None)
    if dag_id is None or _io(dag_id)[1] == 0:
        pytest.skip("no DAG in dags/ reads or writes data")
    return parsed_dag(dag_id)


def test_a_dag_reads_and_writes_partitioned_data_on_s3(s3, busiest_dag) -> None:
    ds = first_day(busiest_dag)
    planned = plan(busiest_dag, ds)
    written = sample_data.write(rows=ROWS, days=[ds])
    assert all(p.startswith(f"s3://{BUCKET}/warehouse/raw/") for ps in written.values() for p in ps)

    for attempt in range(2):  # the second run must overwrite, not add
        result = run_dag(busiest_dag.dag_id, ds)
        assert result.state == "success", (attempt, result.report())

    for folder in planned.awaited_outputs:
        assert keys(s3, f"warehouse/{folder}/") == [f"warehouse/{folder}/part-0.parquet"]
        frame = pl.read_parquet(f"s3://{BUCKET}/warehouse/{folder}/*.parquet")
        assert frame.height > 0
        if output_name(folder) in OUTPUTS:
            assert_output_matches(frame, output_name(folder), sample_rows(ds, ROWS))


def test_a_missing_day_on_s3_fails_its_query_naming_the_days_uri(s3, tmp_path) -> None:
    """A dataset partitioned by day whose day is not on S3: the query finds no file while it
    is planned and fails, naming the URI of that day; nothing is written."""
    target = f"s3://{BUCKET}/warehouse/curated/clicks_copy/ds=2030-12-31/"

    @authenticate
    def copy_a_missing_day() -> str:
        cluster = settings.load().manifest_cluster()
        return compute.sink(datasets.source("clicks", "2030-12-31"), target, on=cluster)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets, "PARTITIONED_BY_DS", frozenset({"clicks"}))
        with pytest.raises(Exception) as caught:  # the failure table decides which
            copy_a_missing_day()

    uri = f"s3://{BUCKET}/warehouse/raw/clicks/ds=2030-12-31/*.parquet"
    assert uri in str(caught.value)
    assert keys(s3, "warehouse/curated/clicks_copy/") == []
