"""The sample data: deterministic, written where the DAGs read it, and never over files put
there by hand. Every dataset of dev/samples/ is checked, whatever it is called."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import threading
from datetime import date, timedelta
from unittest import mock

import boto3
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from polars_cloud_provider import settings as provider_settings

from {{ cookiecutter.package_name }} import datasets
from {{ cookiecutter.package_name }}.dev import sample_data

NAMES = sample_data.names()
DAY = sample_data.DEFAULT_DS  # the start date (dag_defaults.START_DATE)
NEXT_DAY = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()
# A name of the project's own datasets, or nothing to test when it has none yet.
needs_a_dataset = pytest.mark.skipif(not NAMES, reason="no dataset has sample data yet")


@pytest.mark.parametrize("name", NAMES)
def test_same_arguments_same_rows_other_seed_or_day_other_rows(name) -> None:
    first = sample_data.frame(name, 500, seed=1, ds=DAY)
    assert first.height > 0
    assert_frame_equal(first, sample_data.frame(name, 500, seed=1, ds=DAY))
    if name in datasets.STATIC:  # a lookup table: the same rows whatever the seed
        assert_frame_equal(first, sample_data.frame(name, 500, seed=2, ds=NEXT_DAY))
        return
    assert not first.equals(sample_data.frame(name, 500, seed=2, ds=DAY)), (
        f"{name}: the seed changes no row; if it is a lookup table, add it to datasets.STATIC"
    )
    if name in datasets.PARTITIONED_BY_DS:  # each day of it has rows of its own
        assert not first.equals(sample_data.frame(name, 500, seed=1, ds=NEXT_DAY))


def test_write_puts_every_dataset_where_the_dags_read_it(tmp_path) -> None:
    days = [DAY, NEXT_DAY]
    written = sample_data.write(str(tmp_path), rows=50, days=days)

    assert sorted(written) == NAMES
    for name, paths in written.items():
        expected_days = days if name in datasets.PARTITIONED_BY_DS else days[:1]
        assert paths == [
            f"{tmp_path}/{datasets.input_folder(name, ds)}/part-0.parquet" for ds in expected_days
        ]
        assert all(pl.read_parquet(path).height > 0 for path in paths)


def test_files_put_in_the_data_root_by_hand_are_never_overwritten(tmp_path) -> None:
    mine = {}
    for name in NAMES:
        folder = tmp_path / datasets.input_folder(name, DAY)
        folder.mkdir(parents=True)
        mine[name] = folder / "my-export.parquet"
        pl.DataFrame({"mine": [1]}).write_parquet(mine[name])

    written = sample_data.write(str(tmp_path), rows=50, only_missing=True)

    assert written == {}
    for name, path in mine.items():
        assert [p.name for p in path.parent.iterdir()] == ["my-export.parquet"], name


def test_rows_must_be_positive_and_unknown_datasets_say_where_to_add_them() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sample_data.frame(NAMES[0] if NAMES else "any", 0)
    with pytest.raises(LookupError, match=r"add dags/.+/dev/samples/web_events\.py with"):
        sample_data.frame("web_events", 10)
{%- if cookiecutter.include_example_dags %}


def test_the_example_samples_look_like_production() -> None:
    """Dates, categories, missing amounts and reasons, and a few late returns."""
    if not {"orders", "sales", "inventory", "returns"} <= set(NAMES):
        pytest.skip("the example datasets' sample modules were removed")
    frames = sample_data.sample_frames(10_000)
    orders, returns, sales = frames["orders"], frames["returns"], frames["sales"]
    assert orders["status"].n_unique() == 4
    assert 0 < orders["amount"].null_count() < orders.height // 10
    assert 0 < returns["reason"].null_count() < returns.height // 2
    waited = returns["return_date"] - returns["purchase_date"]
    assert 0 < (waited > timedelta(days=30)).sum() < returns.height // 4
    assert (waited > timedelta(0)).all()
    products = set(frames["inventory"]["product_id"])
    assert set(sales["product_id"]) <= products and set(returns["product_id"]) <= products
{%- endif %}


# Sample data never replaces or fills in real input (make run / make demo write it).

PARTITIONED = sorted(datasets.PARTITIONED_BY_DS & set(NAMES))


def damaged(rows: int = 40) -> bytes:
    """A parquet file whose footer is cut short, magic bytes kept: unreadable."""
    buffer = io.BytesIO()
    pl.DataFrame({"order_id": range(rows)}).write_parquet(buffer)
    valid = buffer.getvalue()
    return valid[: len(valid) // 2] + valid[-8:]


@needs_a_dataset
def test_a_damaged_local_input_stops_it_naming_the_file_and_stays(tmp_path) -> None:
    name = NAMES[0]
    folder = tmp_path / datasets.input_folder(name, DAY)
    folder.mkdir(parents=True)
    mine = folder / "part-0.parquet"
    mine.write_bytes(damaged())

    with pytest.raises(sample_data.SampleDataRefused, match=f"Stopped reading {mine}"):
        sample_data.write(str(tmp_path), rows=50, only_missing=True)

    assert mine.read_bytes() == damaged()
    assert [p.name for p in folder.iterdir()] == ["part-0.parquet"]


@pytest.mark.skipif(not PARTITIONED, reason="no dataset partitioned by day")
def test_a_day_missing_from_real_input_fails_naming_the_dataset_day_and_uri(tmp_path) -> None:
    name = PARTITIONED[0]
    mine = tmp_path / datasets.input_folder(name, DAY) / "export.parquet"
    mine.parent.mkdir(parents=True)
    sample_data.frame(name, 10, ds=DAY).write_parquet(mine)  # the user's own day
    missing = f"{tmp_path}/{datasets.input_folder(name, NEXT_DAY)}"

    with pytest.raises(sample_data.SampleDataRefused) as refused:
        sample_data.write(str(tmp_path), rows=50, days=[NEXT_DAY], only_missing=True)

    assert str(refused.value).startswith(
        f"Input {name!r} for ds={NEXT_DAY}: no parquet file at {missing}/*.parquet"
    )
    assert not (tmp_path / datasets.input_folder(name, NEXT_DAY)).exists()
    assert [p.name for p in (tmp_path / "raw" / name).iterdir()] == [f"ds={DAY}"]


@needs_a_dataset
def test_sample_data_goes_only_into_empty_or_sample_datasets(tmp_path) -> None:
    name = NAMES[0]
    mine = tmp_path / "raw" / name / "old" / "mine.parquet"  # in a folder of its own
    mine.parent.mkdir(parents=True)
    pl.DataFrame({"mine": [1]}).write_parquet(mine)

    with pytest.raises(sample_data.SampleDataRefused, match=f"Input {name!r}"):
        sample_data.write(str(tmp_path), rows=50, only_missing=True)
    assert [p.name for p in (tmp_path / "raw" / name).rglob("*") if p.is_file()] == ["mine.parquet"]

    fresh = tmp_path / "fresh"
    sample_data.write(str(fresh), rows=50, days=[DAY])
    again = sample_data.write(str(fresh), rows=50, days=[DAY, NEXT_DAY], only_missing=True)
    # An all-sample root gets its missing days; its existing ones stay as they are.
    assert again == {
        n: [f"{fresh}/{datasets.input_folder(n, NEXT_DAY)}/part-0.parquet"] for n in PARTITIONED
    }
    assert all((fresh / "raw" / n / sample_data.MARKER).is_file() for n in NAMES)


@pytest.fixture(scope="module")
def s3_root():
    """A bucket on moto's S3 server on 127.0.0.1, as the settings' storage options reach it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {
        "aws_endpoint_url": f"http://{host}:{port}",
        "aws_allow_http": "true",
        "aws_region": "us-east-1",
        "aws_access_key_id": "moto-test-key",
        "aws_secret_access_key": "moto-test-secret",  # pragma: allowlist secret
    }
    client = boto3.client(
        "s3",
        endpoint_url=options["aws_endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id=options["aws_access_key_id"],
        aws_secret_access_key=options["aws_secret_access_key"],
    )
    client.create_bucket(Bucket="sample-data")
    try:
        yield client, options
    finally:
        server.stop()


@needs_a_dataset
def test_a_damaged_input_on_an_object_store_stops_it_and_stays(s3_root, monkeypatch) -> None:
    """The store lists the file, Polars cannot read its footer: not "no file here"."""
    client, options = s3_root
    monkeypatch.setenv(provider_settings.env_var("storage_options"), json.dumps(options))
    name = NAMES[0]
    key = f"damaged/{datasets.input_folder(name, DAY)}/part-0.parquet"
    client.put_object(Bucket="sample-data", Key=key, Body=damaged())

    with pytest.raises(sample_data.SampleDataRefused) as refused:
        sample_data.write("s3://sample-data/damaged", rows=50, days=[DAY], only_missing=True)

    message = str(refused.value)
    assert f"s3://sample-data/{key.rsplit('/', 1)[0]}/*.parquet" in message
    assert "out of specification" in message and options["aws_endpoint_url"] in message
    body = client.get_object(Bucket="sample-data", Key=key)["Body"].read()
    assert body == damaged()
    listed = client.list_objects_v2(Bucket="sample-data", Prefix="damaged/")["Contents"]
    assert [o["Key"] for o in listed] == [key]


@needs_a_dataset
def test_an_empty_object_store_root_gets_marked_sample_data(s3_root, monkeypatch) -> None:
    client, options = s3_root
    monkeypatch.setenv(provider_settings.env_var("storage_options"), json.dumps(options))

    first = sample_data.write("s3://sample-data/fresh", rows=50, days=[DAY], only_missing=True)
    again = sample_data.write(
        "s3://sample-data/fresh", rows=50, days=[DAY, NEXT_DAY], only_missing=True
    )

    assert sorted(first) == NAMES
    assert sorted(again) == PARTITIONED  # only the new day of the sample datasets
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="sample-data")["Contents"]}
    assert {f"fresh/raw/{n}/{sample_data.MARKER}" for n in NAMES} <= keys


@pytest.fixture
def silent_store():
    """A TCP listener on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


@needs_a_dataset
def test_a_silent_store_stops_the_probe_within_the_storage_timeout_naming_it(
    silent_store, monkeypatch
) -> None:
    options = {
        "aws_endpoint_url": silent_store,
        "aws_allow_http": "true",
        "aws_region": "us-east-1",
        "aws_access_key_id": "silent-key",
        "aws_secret_access_key": "silent-secret",  # pragma: allowlist secret
    }
    monkeypatch.setenv(provider_settings.env_var("storage_options"), json.dumps(options))
    monkeypatch.setenv(provider_settings.env_var("storage_timeout_s"), "1")
    outcome: list[BaseException] = []
    done = threading.Event()

    def probe() -> None:
        try:
            sample_data.write("s3://silent/root", rows=10, days=[DAY], only_missing=True)
        except BaseException as error:
            outcome.append(error)
        finally:
            done.set()

    threading.Thread(target=probe, daemon=True).start()
    # Minutes: the bound is one storage timeout per attempt plus polars' retries within
    # the same time (about 2-3 s here); without a bound the probe never returns.
    assert done.wait(600), "the sample-data probe hung on a store that never answers"
    [error] = outcome
    assert isinstance(error, sample_data.SampleDataRefused), error
    assert f"at {silent_store} (storage timeout 1 s)" in str(error)
    assert "s3://silent/root/raw/" in str(error)


@needs_a_dataset
def test_the_command_refuses_in_one_line_and_writes_nothing_over_real_input(
    tmp_path, capsys
) -> None:
    name = NAMES[0]
    mine = tmp_path / datasets.input_folder(name, DAY) / "mine.parquet"
    mine.parent.mkdir(parents=True)
    pl.DataFrame({"mine": [1]}).write_parquet(mine)

    with mock.patch.dict(os.environ):  # main() points this process at the local Airflow
        assert sample_data.main(["--root", str(tmp_path), "--rows", "10"]) == 1

    assert capsys.readouterr().err.startswith(f"Input {name!r}")
    assert [p.name for p in (tmp_path / "raw" / name).rglob("*") if p.is_file()] == [mine.name]
