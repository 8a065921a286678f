"""Where each dataset lives under the data root.

Inputs are read from ``<data root>/raw/<name>/``; outputs are written to
``<data root>/curated/<name>/ds=<YYYY-MM-DD>/``, one partition per logical date, so a rerun
or a backfill rewrites its own day and nothing else. Building a URI is cheap; ``source``
and ``scan`` import polars, so call them inside tasks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from {{ cookiecutter.package_name }} import settings

if TYPE_CHECKING:
    import polars as pl

_DS = re.compile(r"\d{4}-\d{2}-\d{2}")


def source_uri(name: str) -> str:
    """The parquet files of the input dataset ``name``."""
    return f"{settings.load().data_root}/raw/{name}/*.parquet"


def partition_uri(name: str, ds: str | None) -> str:
    """The directory an output dataset writes for the logical date ``ds``."""
    if ds is None:
        raise ValueError(
            f"Cannot place {name!r}: this run has no logical date. Trigger it with a logical "
            "date (the UI's trigger form and `airflow dags test <dag> <date>` both take one)."
        )
    if not _DS.fullmatch(ds):
        raise ValueError(f"Partition date must look like YYYY-MM-DD, got {ds!r}")
    return f"{output_uri(name)}ds={ds}/"


def output_uri(name: str) -> str:
    """The directory holding every ``ds`` partition of the output dataset ``name``."""
    return f"{settings.load().data_root}/curated/{name}/"


def source(name: str) -> pl.LazyFrame:
    """Lazily scan the input dataset ``name``."""
    return scan(source_uri(name))


def scan(uris: str | list[str]) -> pl.LazyFrame:
    """Lazily scan parquet at ``uris``: a glob, a directory, or result locations from XCom.

    Inside an authenticated task the active backend decides the storage options: the local
    backend reads with the configured ones, Polars Cloud with the cluster's own.
    """
    import polars as pl

    from {{ cookiecutter.package_name }}.compute import backend

    chosen = backend.current()
    options = chosen.scan_options(settings.load()) if chosen else settings.load().storage_options
    return pl.scan_parquet(uris, storage_options=options)
