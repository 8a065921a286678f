"""Which failures a retry can fix: one table (``RULES``) for both backends. In ``classified``, a
permanent one fails the task at once as a ``PermanentFailure`` naming the datasets it read and
the URI it wrote; any other is left to Airflow's retries (docs/design-cloud-engine.md)."""

from __future__ import annotations

import functools
import glob
import json
import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polars_cloud_provider.compute.errors import (
    ComputeError,
    ManifestDrift,
    ManifestNotRegistered,
    QueryCancelled,
    QueryInterrupted,
    QueryNotFound,
    QueryStatusUnreadable,
    QueryTimedOut,
    RemoteError,
)
from polars_cloud_provider.engines.backend import current, running_ti

if TYPE_CHECKING:
    from polars_cloud_provider.compute.permanent import PermanentFailure

_P = "polars.exceptions."
_PC = "polars_cloud."  # the compiled client's classes (polars_cloud.pyi ~l.703-713)

TIMED_OUT = "query timed out"
AUTHENTICATION = "authentication failure"

# How polars-cloud 0.12's compiled client words a failed call: docs/failure-modes.md.
_HTTP_STATUS = re.compile(r"\bStatus (\d{3})\b[^\n]*? with body: ")
_GRPC_PREFIX = "Error calling gRPC endpoint, "
_GRPC_CODES = {
    "The request does not have valid authentication credentials": "UNAUTHENTICATED",
    "The caller does not have permission to execute the specified operation": "PERMISSION_DENIED",
    "Some requested entity was not found": "NOT_FOUND",
    "The service is currently unavailable": "UNAVAILABLE",
    "Some resource has been exhausted": "RESOURCE_EXHAUSTED",
    "Deadline expired before operation could complete": "DEADLINE_EXCEEDED",
    "The operation was cancelled": "CANCELLED",
    "The operation was aborted": "ABORTED",
}
_REST_ERRORS = {"builtins.ValueError", _PC + "NotFoundError"}


def service_code(error: BaseException) -> str | None:
    """``"HTTP 401"``, ``"gRPC UNAUTHENTICATED"``...: the status a Polars Cloud call failed
    with, read from where the library's client writes it; None for any other error."""
    text = str(error)
    names = set(RemoteError.names_of(error))
    if "builtins.RuntimeError" in names and text.startswith(_GRPC_PREFIX):
        code = _GRPC_CODES.get(text.removeprefix(_GRPC_PREFIX).split(",", 1)[0].strip())
        return f"gRPC {code}" if code else None
    if names & _REST_ERRORS and (found := _HTTP_STATUS.search(_service_message(text))):
        return f"HTTP {found.group(1)}"
    return None


def _service_message(text: str) -> str:
    """The ``message`` of the library's JSON error text; the text itself otherwise."""
    try:
        return str(json.loads(text)["message"])
    except (ValueError, KeyError, TypeError):
        return text


# What to do about each permanent failure ("{conn_id}" and "{timeout_setting}" are filled in
# from the settings). A kind without a fix is transient.
FIXES = {
    AUTHENTICATION: "Check the service account in Airflow connection {conn_id!r} (login = client "
    "id, password = client secret) and its access to the workspace, then clear the task.",
    "query cancelled outside Airflow": "Someone cancelled it in Polars Cloud: clear the task to "
    "run it again.",
    TIMED_OUT: "Raise {timeout_setting} if the query needs longer (or call the helper with "
    "retry_timeout=True to retry a timeout), then clear the task.",
    "query not found": "It was deleted, or is asked for in another workspace: clear the task to "
    "submit it again.",
    "manifest not registered": "Register the manifests (make manifests, or trigger the "
    "register_manifests DAG), then clear the task.",
    "workspace not found": "Set the workspace name in the connection's 'workspace' extra (or "
    "workspace= of the cluster), then clear the task.",
    "not found": "Polars Cloud does not know something this task named (its workspace, manifest "
    "or query; the error above says which call): fix the settings, then clear the task.",
    "no logical date": "Trigger the run with a logical date.",
    "disk full": "Free space where it writes (or raise the quota), then clear the task.",
    "corrupt input": "Replace or remove the file, then clear the task.",
    "missing input": "Check that the input exists at that URI, then clear the task.",
    "unknown column": "Fix the query or the input's columns, then clear the task.",
    "schema mismatch": "Make the input files agree on one schema, then clear the task.",
    "bad input": "Fix the values in the input, or the query's casts, then clear the task.",
    "invalid plan": "Fix the query, then clear the task.",
    "access refused": "Fix the permissions or the path (a sink target or an input), then clear "
    "the task.",
    "configuration": "Fix the workspace or manifest (make manifests), then clear the task.",
}


@dataclass(frozen=True)
class Rule:
    """One kind of failure (``what``): permanent when ``FIXES`` says how to fix it."""

    what: str
    types: tuple[type[BaseException] | str, ...] = ()  # classes, or dotted names
    pattern: str = ""  # searched in the message (case-insensitive); with types: both
    codes: tuple[str, ...] = ()  # service_code() values; with types or pattern: all

    @property
    def permanent(self) -> bool:
        return self.what in FIXES

    def matches(self, error: BaseException) -> bool:
        names = set(RemoteError.names_of(error)) | set(getattr(error, "type_names", ()))
        wanted = {
            t if isinstance(t, str) else f"{t.__module__}.{t.__qualname__}" for t in self.types
        }
        if self.types and not names & wanted:
            return False
        if self.codes and service_code(error) not in self.codes:
            return False
        return not self.pattern or re.search(self.pattern, str(error), re.IGNORECASE) is not None


_INVALID = _P + "InvalidOperationError"

# Matched in order, so Polars Cloud's classes and status codes come before any message pattern
# and a typed rule wins over words in a message (a column named "throttle").
RULES: tuple[Rule, ...] = (
    # reqwest::Error's kind Request: a request that got no answer (DNS, connect, TLS, timeout).
    Rule(
        "login endpoint unreachable",
        (_PC + "AuthLoadError",),
        r"reqwest::Error \{ kind: Request\b|ConnectError\(|dns error|timed out",
    ),
    Rule(
        AUTHENTICATION,
        codes=("HTTP 401", "HTTP 403", "gRPC UNAUTHENTICATED", "gRPC PERMISSION_DENIED"),
    ),
    Rule(AUTHENTICATION, (_PC + "AuthLoadError",)),
    Rule("query cancelled outside Airflow", (QueryCancelled,)),
    Rule(TIMED_OUT, (QueryTimedOut,)),
    Rule("query not found", (QueryNotFound,)),
    Rule("manifest not registered", (ManifestNotRegistered,)),
    Rule("workspace not found", (_PC + "exceptions.WorkspaceResolveError",)),
    Rule("not found", (_PC + "NotFoundError",)),
    Rule("not found", codes=("gRPC NOT_FOUND",)),
    Rule("throttling", codes=("HTTP 429", "gRPC RESOURCE_EXHAUSTED")),
    Rule(
        "service unavailable",
        codes=("HTTP 500", "HTTP 502", "HTTP 503", "HTTP 504", "gRPC UNAVAILABLE", "gRPC ABORTED"),
    ),
    Rule("network", codes=("gRPC DEADLINE_EXCEEDED", "gRPC CANCELLED")),
    Rule("status unreadable", (QueryStatusUnreadable,)),
    # Permanent: the data, the query or the configuration.
    Rule("no logical date", ("polars_cloud_provider.compute.permanent.NoLogicalDate",)),
    # Before "corrupt input": Polars reports a failed write as "File out of specification:
    # underlying IO error: No space left on device (os error 28)".
    Rule(
        "disk full",
        pattern=r"no space left on device|\(os error 28\)|disk quota exceeded|\(os error 122\)"
        r"|insufficient storage|XMinioStorageFull|QuotaExceeded",
    ),
    Rule(
        "corrupt input",
        (_P + "ComputeError",),
        r"out of specification|magic bytes|must end with PAR1",
    ),
    Rule("missing input", (_P + "ComputeError",), r"expanded paths were empty"),
    Rule("missing input", (FileNotFoundError,)),
    Rule("missing input", pattern=r"NoSuchBucket|NoSuchKey"),
    Rule("unknown column", (_P + "ColumnNotFoundError", _P + "StructFieldNotFoundError")),
    Rule(
        "schema mismatch", (_P + "SchemaError", _P + "SchemaFieldNotFoundError", _P + "ShapeError")
    ),
    Rule("bad input", (_INVALID,), r"conversion from .* failed"),
    Rule(
        "invalid plan",
        (_INVALID, _P + "DuplicateError", _P + "SQLInterfaceError", _P + "SQLSyntaxError"),
    ),
    Rule(
        "access refused", (PermissionError, FileExistsError, IsADirectoryError, NotADirectoryError)
    ),
    Rule("access refused", pattern=r"read-only file system|access ?denied|\b403 forbidden"),
    Rule(
        "configuration",
        (
            ManifestDrift,
            _PC + "exceptions.OrganizationResolveError",
            _PC + "ComputeClusterMisspecified",
        ),
    ),
    # Transient: something outside the data that a later try may not meet.
    Rule("interrupted", (QueryInterrupted,)),
    Rule("network", (ConnectionError, TimeoutError, "socket.gaierror")),
    Rule("throttling", pattern=r"too many requests|slow ?down|throttl|rate.?limit"),
    Rule(
        "service unavailable",
        pattern=r"service unavailable|currently unavailable|bad gateway|gateway timeout",
    ),
    Rule(
        "cluster did not start",
        pattern=r"compute cluster in terminal state|cannot execute query, context status"
        r"|can't start compute",
    ),
    Rule(
        "network",
        pattern=r"error sending request|timed? ?out|connection (refused|reset|closed)|dns error",
    ),
)


def classify(error: BaseException) -> Rule | None:
    """The first rule matching ``error`` or an error it was raised from; None if none does."""
    links = list(chain(error))
    return next((rule for rule in RULES if any(rule.matches(link) for link in links)), None)


@contextmanager
def classified(writing: str | None = None, *, retry_timeout: bool = False) -> Iterator[None]:
    """Raise a permanent error as a ``PermanentFailure``; note a transient one and let it go
    (and a query timeout too, with ``retry_timeout``)."""
    try:
        yield
    except Exception as error:
        airflow = sys.modules.get("airflow.sdk.exceptions")  # not loaded: none was raised
        if airflow and isinstance(error, airflow.AirflowFailException):  # fails, no retries
            raise
        rule = classify(error)
        if rule is not None and rule.permanent and not (retry_timeout and rule.what == TIMED_OUT):
            cause = next(link for link in chain(error) if rule.matches(link))
            raise permanent(rule, error, cause, writing) from cause
        what = f"transient ({rule.what})" if rule else "not in the failure table"
        error.add_note(f"Failure {what}: Airflow retries this task.")
        raise


def permanent(
    rule: Rule, error: BaseException, cause: BaseException, writing: str | None
) -> PermanentFailure:
    """The one-line failure: what is wrong, in which dataset and URI, and what to do. An error
    of ours keeps its class and fields too: ``except QueryFailed`` still catches it."""
    from polars_cloud_provider import settings

    read = reads()
    shown = error if isinstance(error, ComputeError) else cause
    first = next(iter(_service_message(str(shown)).strip().splitlines()), "").rstrip(".")
    parts = [first if isinstance(shown, ComputeError) else f"{type(shown).__name__}: {first}"]
    if rule.what == "corrupt input":
        parts += [f"not a parquet file: {path}" for path in _corrupt_files(u for _, u in read)]
    parts += [f"read dataset {name!r} at {uri}" for name, uri in read]
    if writing:
        parts.append(f"writing {writing}")
    if rule.what == "disk full":
        parts.append(_free_space(writing))
    fix = FIXES[rule.what].format(
        conn_id=getattr(current(), "conn_id", None) or "(the task's polars_cloud_conn_id)",
        timeout_setting=settings.env_var("query_timeout_s"),
    )
    failure = _permanent_class(type(error))(  # type: ignore[arg-type]  # mypy: a class is hashable
        f"{rule.what.capitalize()}, not retried: {'; '.join(parts)}. {fix}",
        what=rule.what,
        uris=(*(uri for _, uri in read), *([writing] if writing else [])),
    )
    if isinstance(error, ComputeError):
        failure.__dict__.update({k: v for k, v in vars(error).items() if k not in vars(failure)})
    return failure


@functools.cache
def _permanent_class(raised: type[BaseException]) -> type[PermanentFailure]:
    """``PermanentFailure``, or for a ``ComputeError`` one that is both (made once per class)."""
    from polars_cloud_provider.compute.permanent import PermanentFailure

    if not issubclass(raised, ComputeError):
        return PermanentFailure
    return type(f"Permanent{raised.__name__}", (PermanentFailure, raised), {"__module__": __name__})


# Which datasets the running task read (datasets.source records them), per task.
_reads: ContextVar[tuple[Any, tuple[tuple[str, str], ...]]] = ContextVar(
    "datasets_read", default=(None, ())
)


def record_read(name: str, uri: str) -> None:
    """Remember that the running task reads dataset ``name`` at ``uri``."""
    if (name, uri) not in (seen := reads()):
        _reads.set((_running_task(), (*seen, (name, uri))))


def reads() -> tuple[tuple[str, str], ...]:
    """``(name, uri)`` of each dataset the running task has read so far."""
    owner, seen = _reads.get()
    return seen if owner == _running_task() else ()


def _running_task() -> tuple[Any, ...] | None:
    if (ti := running_ti()) is None:
        return None
    return (ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, what it was raised from and the errors of a group, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        link = pending.pop(0)
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        if isinstance(link, BaseExceptionGroup):
            pending.extend(link.exceptions)
        # As a traceback shows it: the cause, else the context unless suppressed.
        pending.append(link.__cause__ or (None if link.__suppress_context__ else link.__context__))


def _corrupt_files(uris: Iterable[str]) -> list[str]:
    """Local input files whose parquet footer cannot be read; remote ones are not listed."""
    import polars as pl

    found = []
    for uri in uris:
        if "://" in uri and not uri.startswith("file://"):
            continue
        for path in sorted(glob.glob(uri.removeprefix("file://"), recursive=True)):
            try:
                if os.path.isfile(path):
                    pl.read_parquet_schema(path)
            except Exception:
                found.append(path)
    return found


def _free_space(writing: str | None) -> str:
    """What is left where a local write ran out of space (Polars does not say how much the
    write needed: the staged files are gone, so give at least the free space)."""
    if not writing or ("://" in writing and not writing.startswith("file://")):
        return "space needed unknown (the object store refused the write)"
    path = Path(writing.removeprefix("file://"))
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return "space needed unknown"
    return (
        f"{usage.free / 2**20:.1f} MiB free of {usage.total / 2**20:.1f} MiB on the file "
        f"system of {path}; space needed unknown (at least the partition's size)"
    )
