"""The OpenLineage objects for a task's run, its datasets named per the naming spec (README,
"Lineage"; docs/design-lineage.md). Imports the OpenLineage provider: imported only when the
listener asks the operator for its facets."""

from __future__ import annotations

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

WRITES = ("sink", "submit")  # journal steps writing a dataset; execute: intermediate results
SOURCES = {"cloud": "polars-cloud", "local": "polars-local"}
Dataset = TypeVar("Dataset", InputDataset, OutputDataset)
_GLOB = set("*?[{")
_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}


@attr.define
class PolarsCloudQueriesRunFacet(RunFacet):
    """Each query the task ran: ``query_id``, ``kind``, ``target``, ``backend``, ``link``."""

    queries: list[dict[str, Any]] = attr.field(factory=list)


def operator_lineage(reads: Sequence[str], steps: Sequence[Any]) -> OperatorLineage:
    """Inputs: what the body scanned but its own results; outputs: what it wrote."""
    own_results = {location for step in steps for location in step.locations}
    inputs = _datasets(InputDataset, [uri for uri in reads if uri not in own_results])
    written = [step.target for step in steps if step.kind in WRITES and step.target]
    outputs = _datasets(OutputDataset, written)
    run_facets: dict[str, Any] = {}
    if steps:
        last = steps[-1]
        backend = str(last.reference.get("backend"))
        run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
            externalQueryId=last.query_id, source=SOURCES.get(backend, backend)
        )
        run_facets["polarsCloudQueries"] = PolarsCloudQueriesRunFacet(
            queries=[_query(step) for step in steps]
        )
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _datasets(kind: type[Dataset], uris: list[str]) -> list[Dataset]:
    """Each dataset of ``uris`` once, in order, as a ``kind`` (Input/OutputDataset)."""
    return [kind(namespace, name) for namespace, name in dict.fromkeys(map(dataset_of, uris))]


def _query(step: Any) -> dict[str, Any]:
    return {
        "query_id": step.query_id,
        "kind": step.kind,
        "target": step.target,
        "backend": step.reference.get("backend"),
        "link": _link(step.reference),
    }


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
    kept: list[str] = []
    for part in path.split("/"):
        if _GLOB & set(part):
            break
        kept.append(part)
    return "/".join(kept).rstrip("/")
