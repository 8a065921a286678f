"""The OpenLineage objects for a task's run, its datasets named per the naming spec (README,
"Lineage"; docs/design-lineage.md). Imports the OpenLineage provider: imported only when the
listener asks the operator for its facets."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import RunFacet, external_query_run

log = logging.getLogger(__name__)

WRITES = ("sink", "submit")  # queries writing a dataset; execute: an intermediate result
SOURCES = {"cloud": "polars-cloud", "local": "polars-local"}
Dataset = TypeVar("Dataset", InputDataset, OutputDataset)
_GLOB = set("*?[{")
_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}


@attr.define
class PolarsCloudQueriesRunFacet(RunFacet):
    """The task's query, in a list: ``query_id``, ``kind``, ``target``, ``backend``, ``link``."""

    queries: list[dict[str, Any]] = attr.field(factory=list)


def operator_lineage(reads: Sequence[str], query: Any) -> OperatorLineage:
    """Inputs: what the body scanned but its query's own results; outputs: what it wrote.
    ``query``: the task's ``execution.Record``, None when the body ran none."""
    if query is None:
        return OperatorLineage(inputs=_datasets(InputDataset, reads))
    inputs = _datasets(InputDataset, [uri for uri in reads if uri not in query.locations])
    written = [query.target] if query.kind in WRITES and query.target else []
    outputs = _datasets(OutputDataset, written)
    backend = str(query.reference.get("backend"))
    details = {
        "query_id": query.query_id,
        "kind": query.kind,
        "target": query.target,
        "backend": query.reference.get("backend"),
        "link": _link(query.reference),
    }
    run_facets = {
        "externalQuery": external_query_run.ExternalQueryRunFacet(
            externalQueryId=query.query_id, source=SOURCES.get(backend, backend)
        ),
        "polarsCloudQueries": PolarsCloudQueriesRunFacet(queries=[details]),
    }
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _datasets(kind: type[Dataset], uris: Sequence[str]) -> list[Dataset]:
    """Each dataset of ``uris`` once, in order, as a ``kind`` (Input/OutputDataset)."""
    return [kind(namespace, name) for namespace, name in dict.fromkeys(map(dataset_of, uris))]


def _link(reference: dict[str, Any]) -> str | None:
    from polars_cloud_provider.engines.backend import select

    try:
        return select(reference.get("backend")).link(reference)
    except Exception:  # a link is a convenience: never worth failing the events for
        log.debug("No link for query %s", reference.get("query_id"), exc_info=True)
        return None


def dataset_of(uri: str) -> tuple[str, str]:
    """``(namespace, name)``: ``s3://bucket`` + key, ``gs://bucket`` + key, ``file`` + path; a
    glob stands for the directory it lists, a trailing ``/`` is dropped."""
    if "://" not in uri or uri.startswith("file://"):
        path = os.path.abspath(uri.removeprefix("file://"))
        return "file", _without_glob(path) or "/"
    parts = urlsplit(uri)
    scheme = _SCHEMES.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}", _without_glob(parts.path.lstrip("/")) or "/"


def _without_glob(path: str) -> str:
    kept = itertools.takewhile(lambda part: not _GLOB & set(part), path.split("/"))
    return "/".join(kept).rstrip("/")
