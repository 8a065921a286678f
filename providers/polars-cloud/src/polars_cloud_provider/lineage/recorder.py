"""What a running ``@polars_task`` body reads (``compute.scan_parquet`` reports each URI), and
the OpenLineage run it belongs to. Outside a recording reporting does nothing. Imports neither
Airflow nor OpenLineage: the local engine's child process and the command-line tools import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParentJob:
    """The Airflow task's OpenLineage job and run, which a remote query nests under."""

    namespace: str
    name: str  # "<dag_id>.<task_id>"
    run_id: str  # a UUID, the one the listener's events for this try carry


@dataclass
class Recording:
    parent: ParentJob | None = None  # None: OpenLineage is off
    reads: list[str] = field(default_factory=list)


_current: ContextVar[Recording | None] = ContextVar("polars_lineage_recording", default=None)


@contextmanager
def recording(into: Recording) -> Iterator[Recording]:
    token = _current.set(into)
    try:
        yield into
    finally:
        _current.reset(token)


def current() -> Recording | None:
    return _current.get()


def read(uris: str | list[str]) -> None:
    """The running task body scans ``uris`` (a glob, a directory, files)."""
    into = _current.get()
    if into is None:
        return
    for uri in [uris] if isinstance(uris, str) else uris:
        if uri not in into.reads:
            into.reads.append(uri)
