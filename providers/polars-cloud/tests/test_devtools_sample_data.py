"""Sample data (``devtools.sample_data``): written where the DAGs read it, and never over,
beside or instead of files put there by hand; anything but a definite "not found" stops it,
naming the file or the store. On a small project (``devtools_project``)."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pytest
from conftest import moto_s3, s3_client, s3_options
from devtools_project import PARTITIONED_BY_DS, input_folder, their_file, tiny_project
from polars_cloud_provider import settings as provider_settings
from polars_cloud_provider.devtools import SampleData, SampleDataRefused
from polars_cloud_provider.devtools import sample_data as sample_data_module

NAMES = ["orders", "visits"]
PARTITIONED = sorted(PARTITIONED_BY_DS)
DAY = "2026-01-01"  # the project's start date
NEXT_DAY = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()


@pytest.fixture
def sample_data(tmp_path: Path) -> SampleData:
    return SampleData(tiny_project(tmp_path / "project"))


def test_the_default_day_is_the_start_date_and_frames_get_it_as_a_date(sample_data) -> None:
    assert sample_data.DEFAULT_DS == DAY
    assert sample_data.names() == NAMES
    first, other = sample_data.frame("visits", 50), sample_data.frame("visits", 50, ds=NEXT_DAY)
    assert first.equals(sample_data.frame("visits", 50, ds=DAY))
    assert not first.equals(other)
    assert sorted(sample_data.sample_frames(5)) == NAMES


def test_write_puts_every_dataset_where_the_dags_read_it(sample_data, tmp_path) -> None:
    days = [DAY, NEXT_DAY]
    written = sample_data.write(str(tmp_path), rows=50, days=days)

    assert sorted(written) == NAMES
    for name, paths in written.items():
        expected_days = days if name in PARTITIONED_BY_DS else days[:1]
        assert paths == [
            f"{tmp_path}/{input_folder(name, ds)}/part-0.parquet" for ds in expected_days
        ]
        assert all(pl.read_parquet(path).height > 0 for path in paths)


def test_without_a_root_it_writes_under_the_projects_data_root(sample_data, tmp_path) -> None:
    with mock.patch.dict(os.environ, {"TINY_DATA_ROOT": str(tmp_path / "data")}):
        written = sample_data.write(rows=5)

    assert written["orders"] == [f"{tmp_path}/data/raw/orders/part-0.parquet"]
    assert written["visits"] == [f"{tmp_path}/data/raw/visits/ds={DAY}/part-0.parquet"]


def test_files_put_in_the_data_root_by_hand_are_never_overwritten(sample_data, tmp_path) -> None:
    mine = {}
    for name in NAMES:
        mine[name] = their_file(tmp_path / input_folder(name, DAY) / "my-export.parquet")

    written = sample_data.write(str(tmp_path), rows=50, only_missing=True)

    assert written == {}
    for name, path in mine.items():
        assert [p.name for p in path.parent.iterdir()] == ["my-export.parquet"], name


def test_rows_must_be_positive_and_unknown_datasets_say_where_to_add_them(sample_data) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sample_data.frame(NAMES[0], 0)
    with pytest.raises(
        LookupError, match=r"add dags/tiny_pipelines/samples/web_events\.py with a function"
    ):
        sample_data.frame("web_events", 10)


def damaged(rows: int = 40) -> bytes:
    """A parquet file whose footer is cut short, magic bytes kept: unreadable."""
    buffer = io.BytesIO()
    pl.DataFrame({"order_id": range(rows)}).write_parquet(buffer)
    valid = buffer.getvalue()
    return valid[: len(valid) // 2] + valid[-8:]


def test_a_damaged_local_input_stops_it_naming_the_file_and_stays(sample_data, tmp_path) -> None:
    folder = tmp_path / input_folder(NAMES[0], DAY)
    folder.mkdir(parents=True)
    mine = folder / "part-0.parquet"
    mine.write_bytes(damaged())

    with pytest.raises(SampleDataRefused, match=f"Stopped reading {mine}"):
        sample_data.write(str(tmp_path), rows=50, only_missing=True)

    assert mine.read_bytes() == damaged()
    assert [p.name for p in folder.iterdir()] == ["part-0.parquet"]


def test_a_day_missing_from_real_input_fails_naming_the_dataset_day_and_uri(
    sample_data, tmp_path
) -> None:
    name = PARTITIONED[0]
    their_file(tmp_path / input_folder(name, DAY) / "export.parquet", sample_data.frame(name, 10))
    missing = f"{tmp_path}/{input_folder(name, NEXT_DAY)}"

    with pytest.raises(SampleDataRefused) as refused:
        sample_data.write(str(tmp_path), rows=50, days=[NEXT_DAY], only_missing=True)

    assert str(refused.value).startswith(
        f"Input {name!r} for ds={NEXT_DAY}: no parquet file at {missing}/*.parquet"
    )
    assert not (tmp_path / input_folder(name, NEXT_DAY)).exists()
    assert [p.name for p in (tmp_path / "raw" / name).iterdir()] == [f"ds={DAY}"]


def test_sample_data_goes_only_into_empty_or_sample_datasets(sample_data, tmp_path) -> None:
    name = NAMES[0]
    their_file(tmp_path / "raw" / name / "old" / "mine.parquet")  # in a folder of its own

    with pytest.raises(SampleDataRefused, match=f"Input {name!r}"):
        sample_data.write(str(tmp_path), rows=50, only_missing=True)
    assert [p.name for p in (tmp_path / "raw" / name).rglob("*") if p.is_file()] == ["mine.parquet"]

    fresh = tmp_path / "fresh"
    sample_data.write(str(fresh), rows=50, days=[DAY])
    again = sample_data.write(str(fresh), rows=50, days=[DAY, NEXT_DAY], only_missing=True)
    # An all-sample root gets its missing days; its existing ones stay as they are.
    assert again == {
        n: [f"{fresh}/{input_folder(n, NEXT_DAY)}/part-0.parquet"] for n in PARTITIONED
    }
    assert all((fresh / "raw" / n / sample_data_module.MARKER).is_file() for n in NAMES)


@pytest.fixture(scope="module")
def s3_root() -> Iterator[tuple[Any, dict[str, str]]]:
    """A bucket on moto's S3 server on 127.0.0.1, as the settings' storage options reach it."""
    with moto_s3("sample-data") as endpoint:
        yield s3_client(endpoint), s3_options(endpoint)


def test_a_damaged_input_on_an_object_store_stops_it_and_stays(
    sample_data, s3_root, monkeypatch
) -> None:
    """The store lists the file, Polars cannot read its footer: not "no file here"."""
    client, options = s3_root
    monkeypatch.setenv(provider_settings.env_var("storage_options"), json.dumps(options))
    key = f"damaged/{input_folder(NAMES[0], DAY)}/part-0.parquet"
    client.put_object(Bucket="sample-data", Key=key, Body=damaged())

    with pytest.raises(SampleDataRefused) as refused:
        sample_data.write("s3://sample-data/damaged", rows=50, days=[DAY], only_missing=True)

    message = str(refused.value)
    assert f"s3://sample-data/{key.rsplit('/', 1)[0]}/*.parquet" in message
    assert "out of specification" in message and options["aws_endpoint_url"] in message
    body = client.get_object(Bucket="sample-data", Key=key)["Body"].read()
    assert body == damaged()
    listed = client.list_objects_v2(Bucket="sample-data", Prefix="damaged/")["Contents"]
    assert [o["Key"] for o in listed] == [key]


def test_an_empty_object_store_root_gets_marked_sample_data(
    sample_data, s3_root, monkeypatch
) -> None:
    client, options = s3_root
    monkeypatch.setenv(provider_settings.env_var("storage_options"), json.dumps(options))

    first = sample_data.write("s3://sample-data/fresh", rows=50, days=[DAY], only_missing=True)
    again = sample_data.write(
        "s3://sample-data/fresh", rows=50, days=[DAY, NEXT_DAY], only_missing=True
    )

    assert sorted(first) == NAMES
    assert sorted(again) == PARTITIONED  # only the new day of the sample datasets
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="sample-data")["Contents"]}
    assert {f"fresh/raw/{n}/{sample_data_module.MARKER}" for n in NAMES} <= keys


def test_a_silent_store_stops_the_probe_within_the_storage_timeout_naming_it(
    sample_data, silent_store, monkeypatch
) -> None:
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
    assert isinstance(error, SampleDataRefused), error
    assert f"at {silent_store} (storage timeout 1 s)" in str(error)
    assert "s3://silent/root/raw/" in str(error)


def test_the_command_refuses_in_one_line_and_writes_nothing_over_real_input(
    tmp_path, capsys
) -> None:
    name = NAMES[0]
    mine = their_file(tmp_path / input_folder(name, DAY) / "mine.parquet")
    project = tiny_project(tmp_path / "project")

    with mock.patch.dict(os.environ):  # main() points this process at the local Airflow
        assert sample_data_module.main(project, ["--root", str(tmp_path), "--rows", "10"]) == 1

    assert capsys.readouterr().err.startswith(f"Input {name!r}")
    assert [p.name for p in (tmp_path / "raw" / name).rglob("*") if p.is_file()] == [mine.name]


def test_the_command_writes_the_days_asked_into_the_local_data_root(tmp_path, capsys) -> None:
    project = tiny_project(tmp_path)

    with mock.patch.dict(os.environ):
        os.environ.pop("TINY_DATA_ROOT", None)
        assert sample_data_module.main(project, ["--rows", "5", "--ds", DAY, NEXT_DAY]) == 0

    data = tmp_path / ".airflow" / "data"
    assert sorted(p.relative_to(data).as_posix() for p in data.rglob("*.parquet")) == [
        "raw/orders/part-0.parquet",
        f"raw/visits/ds={DAY}/part-0.parquet",
        f"raw/visits/ds={NEXT_DAY}/part-0.parquet",
    ]
    assert f"orders     {data}/raw/orders/part-0.parquet" in capsys.readouterr().out
