"""Where each dataset lives under the data root.

Inputs are read from ``<data root>/raw/<name>/``, or, for the datasets listed in
``PARTITIONED_BY_DS``, from the run's own day ``<data root>/raw/<name>/ds=<YYYY-MM-DD>/``.
Lookup tables (the same rows every day) are listed in ``STATIC``.
Outputs are written to ``<data root>/curated/<name>/ds=<YYYY-MM-DD>/``, one partition per
logical date, so a rerun or a backfill rewrites its own day and nothing else. Building a URI
is cheap; ``source`` and ``scan`` import polars, so call them inside tasks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from polars_cloud_provider import compute

from {{ cookiecutter.package_name }} import settings

if TYPE_CHECKING:
    import polars as pl

PARTITIONED_BY_DS = frozenset({% if cookiecutter.include_example_dags %}{"inventory"}{% endif %})
"""Input datasets that arrive one folder per day, ``raw/<name>/ds=<YYYY-MM-DD>/``: a run
reads only its own day. Every other input is read whole from ``raw/<name>/``."""

STATIC: frozenset[str] = frozenset()
"""Input datasets that are fixed lookup tables (airlines, currencies...): read whole, and
their sample data is the same whatever the seed or the day (``samples/<name>.py``)."""

_DS = re.compile(r"\d{4}-\d{2}-\d{2}")


def input_folder(name: str, ds: str | None = None) -> str:
    """Where the input dataset ``name`` lives under the data root (its day ``ds`` if it is
    partitioned), e.g. ``raw/orders/ds=2026-01-01``."""
    if name not in PARTITIONED_BY_DS:
        return f"raw/{name}"
    if ds is None:
        from polars_cloud_provider.compute.permanent import NoLogicalDate

        raise NoLogicalDate(
            f"Input {name!r} is partitioned by day (datasets.PARTITIONED_BY_DS) and this run "
            "has no logical date: trigger it with one, and read the run's day with "
            f"datasets.source({name!r}, ds), ds being the task's argument."
        )
    return f"raw/{name}/ds={_checked(ds)}"


def source_uri(name: str, ds: str | None = None) -> str:
    """The parquet files of the input dataset ``name`` (of day ``ds`` if it is partitioned)."""
    return f"{settings.load().data_root}/{input_folder(name, ds)}/*.parquet"


def partition_uri(name: str, ds: str | None) -> str:
    """The directory an output dataset writes for the logical date ``ds``."""
    if ds is None:
        from polars_cloud_provider.compute.permanent import NoLogicalDate

        raise NoLogicalDate(
            f"Cannot place {name!r}: this run has no logical date. Trigger it with a logical "
            "date (the UI's trigger form and `airflow dags test <dag> <date>` both take one)."
        )
    return f"{output_uri(name)}ds={_checked(ds)}/"


def output_uri(name: str) -> str:
    """The directory holding every ``ds`` partition of the output dataset ``name``."""
    return f"{settings.load().data_root}/curated/{name}/"


def source(name: str, ds: str | None = None) -> pl.LazyFrame:
    """Lazily scan the input dataset ``name``: the day ``ds`` of it if it is partitioned
    (``PARTITIONED_BY_DS``), all of it otherwise (``ds`` is then not needed).

    In a task reading a local data root, fails at once, naming the dataset, the day and the
    URI, when there is no file to read; on an object store the query's planning finds out.
    """
    return compute.scan_parquet(source_uri(name, ds), dataset=name, ds=ds)


def output(name: str, ds: str) -> pl.LazyFrame:
    """Lazily scan the day ``ds`` of the output dataset ``name``: what another DAG wrote.

    A DAG scheduled on that output's asset (``assets.output(name)``) reads it this way, so
    that failures name it and the tests know to run the DAG that writes it first.
    """
    uri = f"{partition_uri(name, ds)}*.parquet"
    return compute.scan_parquet(uri, dataset=name, ds=ds, produced=True)


def scan(uris: str | list[str]) -> pl.LazyFrame:
    """Lazily scan parquet at ``uris``: a glob, a directory, or result locations from XCom."""
    return compute.scan_parquet(uris)


def _checked(ds: str) -> str:
    if not _DS.fullmatch(ds):
        raise ValueError(f"Partition date must look like YYYY-MM-DD, got {ds!r}")
    return ds
