"""The OpenLineage objects for a task's run (README, "Lineage"); imports the OpenLineage
provider, so it is imported only when the listener asks the operator for its facets."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeVar

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import RunFacet, external_query_run

from polars_cloud_provider.lineage.naming import dataset_of

log = logging.getLogger(__name__)

WRITES = ("sink", "submit")  # journal steps writing a dataset; execute: intermediate results
SOURCES = {"cloud": "polars-cloud", "local": "polars-local"}
Dataset = TypeVar("Dataset", InputDataset, OutputDataset)


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
