"""Output datasets as Airflow Assets: data-aware scheduling instead of a clock guess.

A task that sinks declares its target dataset as an outlet::

    @polars_task(outlets=[assets.output("category_summary")])

When it succeeds, Airflow records an asset event whose extra says which ``ds`` partitions
the task wrote (``task_operator.py`` fills it in). A DAG scheduled on that asset
(``schedule=[assets.output("category_summary")]``) then runs once the data is there, and
``partition_dates`` tells its tasks which partitions to read. Building an Asset is cheap: DAG
files call ``output`` at parse time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow.sdk import Asset

from {{ cookiecutter.package_name }} import datasets

PREFIX = f"{__name__.split('.')[0]}/curated/"


def output(name: str) -> Asset:
    """The Asset standing for every ``ds`` partition of the output dataset ``name``.

    Its identity does not depend on the data root (a setting each deployment may override):
    an asset is the dataset, wherever the deployment keeps it. The URI has no scheme on
    purpose: the first Asset with one (``s3://``, or any other) makes Airflow load every
    provider's URI handlers, ~0.4 s added to each parse of the DAG file.
    """
    return Asset(name=name, uri=f"{PREFIX}{name}")


def location(asset: Any) -> str | None:
    """Where the partitions of an ``output`` asset live, or None for any other asset."""
    if str(getattr(asset, "uri", "")) != f"{PREFIX}{getattr(asset, 'name', '')}":
        return None
    return datasets.output_uri(asset.name)


def partition_dates(name: str, triggering_asset_events: Any, ds: str | None) -> list[str]:
    """The ``ds`` partitions of ``name`` this run must read, oldest first.

    An asset-triggered run has no logical date: the dates come from the events of the
    asset ``name`` that triggered it (several, when the producer ran more than once since
    the last run). A run with a logical date (the schedule, a backfill, ``dags test``)
    reads the partition of its own date.
    """
    dates: set[str] = set()
    for asset in triggering_asset_events or ():
        if getattr(asset, "name", None) == name:
            for event in triggering_asset_events[asset]:
                dates.update(_dates_of(getattr(event, "extra", None) or {}))
    if dates:
        return sorted(dates)
    if ds is not None:
        return [ds]
    from polars_cloud_provider.compute.permanent import NoLogicalDate

    raise NoLogicalDate(
        f"No partition of {name!r} to read: this run has no logical date and no asset event "
        f"of {name!r} naming a ds. Trigger it with a logical date, or let {name!r}'s "
        "producer trigger it."
    )


def _dates_of(extra: dict[str, Any]) -> Iterable[str]:
    value = extra.get("ds", [])
    return [value] if isinstance(value, str) else [str(v) for v in value]
