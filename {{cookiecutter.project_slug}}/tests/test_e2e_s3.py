"""The pipeline against S3: moto's server on 127.0.0.1 is a real S3 API over HTTP.

Compute stays local; inputs are read from and outputs written to ``s3://``, with the
endpoint and keys coming from the environment as they would for any S3-compatible store.
"""

from __future__ import annotations

import json

import boto3
import polars as pl
import pytest
from conftest import run_dag
from expected import DAG_OUTPUTS, assert_output_matches
from moto.server import ThreadedMotoServer

from {{ cookiecutter.package_name }} import datasets, settings
from {{ cookiecutter.package_name }}.dev import sample_data
from {{ cookiecutter.package_name }}.dev.demo import DAG_ID  # the project's main pipeline

BUCKET = "e2e-data"
ROWS = 1_000
DS = "2026-01-01"


@pytest.fixture(scope="module")
def s3(tmp_path_factory, airflow_db):
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
            patch.setenv(
                settings.env_var("local_root"), str(tmp_path_factory.mktemp("intermediate"))
            )
            conn_id = settings.load().conn_id
            connection = {"conn_type": "http", "extra": {"backend": "local"}}
            patch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            yield client
    finally:
        server.stop()


def keys(client, prefix: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_pipeline_reads_and_writes_partitioned_data_on_s3(s3) -> None:
    written = sample_data.write(rows=ROWS)
    assert all(path.startswith(f"s3://{BUCKET}/warehouse/raw/") for path in written.values())
    inputs = {
        name: frame.rows(named=True) for name, frame in sample_data.sample_frames(ROWS).items()
    }

    for attempt in range(2):  # the second run must overwrite, not add
        run, states = run_dag(DAG_ID, DS)
        assert run.state == "success", (attempt, states)

    for output in DAG_OUTPUTS[DAG_ID]:
        assert keys(s3, f"warehouse/curated/{output}/") == [
            f"warehouse/curated/{output}/ds={DS}/part-0.parquet"
        ]
        frame = pl.read_parquet(f"{datasets.partition_uri(output, DS)}*.parquet")
        assert_output_matches(frame, output, inputs)
