"""Which failures a retry can fix: one table for both backends (and Airflow's own paths).

The compute helpers run inside ``classified``. An error the table calls *permanent* (the
data or the query is wrong, or the configuration is) fails the task at once, without
retries, as a ``PermanentFailure`` (an ``AirflowFailException``) that names the datasets the
task read and the URI it was writing. A *transient* one (network, a busy or throttling
service, a cluster that did not start) is re-raised as it is, with a note, and Airflow
retries it with exponential backoff (``dag_defaults``). An error
the table does not know is retried too: a needless retry costs minutes, a run failed for a
blip costs a day.

The table is matched rule by rule, in order, against the error and everything it was
raised from (``__cause__``/``__context__``, exception groups): a typed rule wins over a
message pattern, so a column named "throttle" cannot pass for a throttled request.

Polars Cloud's own errors are matched on their class and on the status code the library's
compiled client puts in a fixed place of the message (``service_code``): an HTTP status
(``ValueError``/``NotFoundError`` "Status 401 Unauthorized with body: ...") or a gRPC code
(``RuntimeError`` "Error calling gRPC endpoint, <the code's description>, ..."). The
evidence for each rule is in docs/failure-modes.md.

A query timeout fails without retries unless the helper was called with
``retry_timeout=True`` (``classified(retry_timeout=True)``).
"""

from __future__ import annotations

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
)

if TYPE_CHECKING:
    from polars_cloud_provider.compute.permanent import PermanentFailure

_PERMANENT = "polars_cloud_provider.compute.permanent."


_P = "polars.exceptions."
_PC = "polars_cloud."  # the compiled client's classes (polars_cloud.pyi ~l.703-713)

TIMED_OUT = "query timed out"
AUTHENTICATION = "authentication failure"

# How polars-cloud 0.12's compiled client words a failed call (strings of polars_cloud.abi3.so:
# "Error calling REST endpoint: ", "Status ", " with body: ", "Error calling gRPC endpoint, ";
# the texts below were raised by it against loopback REST and gRPC stubs). A REST answer
# other than 2xx raises ValueError (404: NotFoundError) with a JSON message; a gRPC status
# raises RuntimeError with tonic's description of its code.
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
    names = _names(type(error))
    if "builtins.RuntimeError" in names and text.startswith(_GRPC_PREFIX):
        code = _GRPC_CODES.get(text.removeprefix(_GRPC_PREFIX).split(",", 1)[0].strip())
        return f"gRPC {code}" if code else None
    if names & _REST_ERRORS and (found := _HTTP_STATUS.search(_service_message(text))):
        return f"HTTP {found.group(1)}"
    return None


def _service_message(text: str) -> str:
    """The ``message`` of the library's JSON error text; the text itself otherwise."""
    if text.lstrip().startswith("{"):
        try:
            return str(json.loads(text)["message"])
        except (ValueError, KeyError, TypeError):
            pass
    return text


@dataclass(frozen=True)
class Rule:
    what: str
    permanent: bool
    types: tuple[type[BaseException] | str, ...] = ()  # classes, or dotted names
    pattern: str = ""  # searched in the message (case-insensitive); with types: both
    fix: str = ""  # "{conn_id}", "{timeout_setting}": filled in from the settings
    codes: tuple[str, ...] = ()  # service_code() values; with types or pattern: all

    def matches(self, error: BaseException) -> bool:
        names = _names(type(error)) | set(getattr(error, "type_names", ()))  # RemoteError
        if self.types and not names & {_name(t) for t in self.types}:
            return False
        if self.codes and service_code(error) not in self.codes:
            return False
        return not self.pattern or re.search(self.pattern, str(error), re.IGNORECASE) is not None


_CHECK_ACCOUNT = (
    "Check the service account in Airflow connection {conn_id!r} (login = client id, password "
    "= client secret) and its access to the workspace, then clear the task."
)

RULES: tuple[Rule, ...] = (
    # Polars Cloud, matched on its classes and status codes before any message pattern.
    Rule(
        "login endpoint unreachable",
        False,
        (_PC + "AuthLoadError",),
        # The HTTP client's own error, as the library formats it (Debug of reqwest::Error):
        # kind Request is a request that got no answer (DNS, connect, TLS, timeout).
        r"reqwest::Error \{ kind: Request\b|ConnectError\(|dns error|timed out",
    ),
    Rule(
        AUTHENTICATION,
        True,
        codes=("HTTP 401", "HTTP 403", "gRPC UNAUTHENTICATED", "gRPC PERMISSION_DENIED"),
        fix=_CHECK_ACCOUNT,
    ),
    Rule(AUTHENTICATION, True, (_PC + "AuthLoadError",), fix=_CHECK_ACCOUNT),
    Rule(
        "query cancelled outside Airflow",
        True,
        (QueryCancelled,),
        fix="Someone cancelled it in Polars Cloud: clear the task to run it again.",
    ),
    Rule(
        TIMED_OUT,
        True,
        (QueryTimedOut,),
        fix="Raise {timeout_setting} if the query needs longer (or call the helper with "
        "retry_timeout=True to retry a timeout), then clear the task.",
    ),
    Rule(
        "query not found",
        True,
        (QueryNotFound,),
        fix="It was deleted, or is asked for in another workspace: clear the task to submit "
        "it again.",
    ),
    Rule(
        "manifest not registered",
        True,
        (ManifestNotRegistered,),
        fix="Register the manifests (make manifests, or trigger the register_manifests DAG), "
        "then clear the task.",
    ),
    Rule(
        "workspace not found",
        True,
        (_PC + "exceptions.WorkspaceResolveError",),
        fix="Set the workspace name in {workspace_setting}, then clear the task.",
    ),
    Rule(
        "not found",
        True,
        (_PC + "NotFoundError",),
        fix="Polars Cloud does not know something this task named (its workspace, manifest or "
        "query; the error above says which call): fix the settings, then clear the task.",
    ),
    Rule(
        "not found",
        True,
        codes=("gRPC NOT_FOUND",),
        fix="Polars Cloud does not know something this task named (its workspace, manifest or "
        "query; the error above says which call): fix the settings, then clear the task.",
    ),
    Rule("throttling", False, codes=("HTTP 429", "gRPC RESOURCE_EXHAUSTED")),
    Rule(
        "service unavailable",
        False,
        codes=("HTTP 500", "HTTP 502", "HTTP 503", "HTTP 504", "gRPC UNAVAILABLE", "gRPC ABORTED"),
    ),
    Rule("network", False, codes=("gRPC DEADLINE_EXCEEDED", "gRPC CANCELLED")),
    Rule("status unreadable", False, (QueryStatusUnreadable,)),
    # Permanent: the data, the query or the configuration.
    Rule(
        "no logical date",
        True,
        (_PERMANENT + "NoLogicalDate",),
        fix="Trigger the run with a logical date.",
    ),
    Rule(
        # Before "corrupt input": Polars reports a failed write as "File out of specification:
        # underlying IO error: No space left on device (os error 28)".
        "disk full",
        True,
        pattern=r"no space left on device|\(os error 28\)|disk quota exceeded|\(os error 122\)"
        r"|insufficient storage|XMinioStorageFull|QuotaExceeded",
        fix="Free space where it writes (or raise the quota), then clear the task.",
    ),
    Rule(
        "corrupt input",
        True,
        (_P + "ComputeError",),
        r"out of specification|magic bytes|must end with PAR1",
        "Replace or remove the file, then clear the task.",
    ),
    Rule(
        "missing input",
        True,
        (_P + "ComputeError",),
        r"expanded paths were empty",
        "Check that the input exists at that URI, then clear the task.",
    ),
    Rule(
        "missing input",
        True,
        ("builtins.FileNotFoundError",),
        fix="Check that the input exists at that URI, then clear the task.",
    ),
    Rule(
        "missing input",
        True,
        pattern=r"NoSuchBucket|NoSuchKey",
        fix="Check that the input exists at that URI, then clear the task.",
    ),
    Rule(
        "unknown column",
        True,
        (_P + "ColumnNotFoundError", _P + "StructFieldNotFoundError"),
        fix="Fix the query or the input's columns, then clear the task.",
    ),
    Rule(
        "schema mismatch",
        True,
        (_P + "SchemaError", _P + "SchemaFieldNotFoundError", _P + "ShapeError"),
        fix="Make the input files agree on one schema, then clear the task.",
    ),
    Rule(
        "bad input",
        True,
        (_P + "InvalidOperationError",),
        r"conversion from .* failed",
        "Fix the values in the input, or the query's casts, then clear the task.",
    ),
    Rule(
        "invalid plan",
        True,
        (
            _P + "InvalidOperationError",
            _P + "DuplicateError",
            _P + "SQLInterfaceError",
            _P + "SQLSyntaxError",
        ),
        fix="Fix the query, then clear the task.",
    ),
    Rule(
        "access refused",
        True,
        (
            "builtins.PermissionError",
            "builtins.FileExistsError",
            "builtins.IsADirectoryError",
            "builtins.NotADirectoryError",
        ),
        fix="Fix the permissions or the path (a sink target or an input), then clear the task.",
    ),
    Rule(
        "access refused",
        True,
        pattern=r"read-only file system|access ?denied|\b403 forbidden",
        fix="Fix the permissions or the path (a sink target or an input), then clear the task.",
    ),
    Rule(
        "configuration",
        True,
        (
            ManifestDrift,
            _PC + "exceptions.OrganizationResolveError",
            _PC + "ComputeClusterMisspecified",
        ),
        fix="Fix the workspace or manifest (make manifests), then clear the task.",
    ),
    # Transient: something outside the data that a later try may not meet.
    Rule("interrupted", False, (QueryInterrupted,)),
    Rule(
        "network",
        False,
        ("builtins.ConnectionError", "builtins.TimeoutError", "socket.gaierror"),
    ),
    Rule("throttling", False, pattern=r"too many requests|slow ?down|throttl|rate.?limit"),
    Rule(
        "service unavailable",
        False,
        pattern=r"service unavailable|currently unavailable|bad gateway|gateway timeout",
    ),
    Rule(
        "cluster did not start",
        False,
        pattern=r"compute cluster in terminal state|cannot execute query, context status"
        r"|can't start compute",
    ),
    Rule(
        "network",
        False,
        pattern=r"error sending request|timed? ?out|connection (refused|reset|closed)|dns error",
    ),
)


def classify(error: BaseException) -> Rule | None:
    """The first rule matching ``error`` or an error it was raised from; None if none does."""
    chain = list(_chain(error))
    for rule in RULES:
        if any(rule.matches(link) for link in chain):
            return rule
    return None


@contextmanager
def classified(writing: str | None = None, *, retry_timeout: bool = False) -> Iterator[None]:
    """Raise a permanent error as a ``PermanentFailure``; note a transient one and let it go.

    ``retry_timeout``: a query timeout is left to Airflow's retries instead of failing the
    task (the query was cancelled; the retry submits it again and waits as long again).
    """
    try:
        yield
    except Exception as error:
        airflow = sys.modules.get("airflow.sdk.exceptions")  # not loaded: none was raised
        if airflow and isinstance(error, airflow.AirflowFailException):  # fails, no retries
            raise
        rule = classify(error)
        if rule is not None and rule.what == TIMED_OUT and retry_timeout:
            rule = Rule(TIMED_OUT, False)
        if rule is not None and rule.permanent:
            cause = next(link for link in _chain(error) if rule.matches(link))
            raise permanent(rule, error, writing) from cause
        what = f"transient ({rule.what})" if rule else "not in the failure table"
        error.add_note(f"Failure {what}: Airflow retries this task.")
        raise


def permanent(rule: Rule, error: BaseException, writing: str | None) -> PermanentFailure:
    """The one-line failure: what is wrong, in which dataset and URI, and what to do.

    An error of ours (a failed query, a manifest that drifted) keeps its class and fields
    too, so ``except QueryFailed`` still catches a query that failed for good.
    """
    read = reads()
    cause = next(link for link in _chain(error) if rule.matches(link))
    parts = [_first_line(error if isinstance(error, ComputeError) else cause, with_type=True)]
    if rule.what == "corrupt input":
        parts += [f"not a parquet file: {path}" for path in _corrupt_files(u for _, u in read)]
    parts += [f"read dataset {name!r} at {uri}" for name, uri in read]
    if writing:
        parts.append(f"writing {writing}")
    if rule.what == "disk full":
        parts.append(_free_space(writing))
    failure = _permanent_class(type(error))(
        f"{rule.what.capitalize()}, not retried: {'; '.join(parts)}. {_fix(rule.fix)}",
        what=rule.what,
        uris=(*(uri for _, uri in read), *([writing] if writing else [])),
    )
    if isinstance(error, ComputeError):
        failure.__dict__.update({k: v for k, v in vars(error).items() if k not in vars(failure)})
    return failure


def _fix(text: str) -> str:
    """``text`` with the settings it names filled in (the connection id, the env variables)."""
    if "{" not in text:
        return text
    from polars_cloud_provider import settings
    from polars_cloud_provider.engines.backend import current

    chosen = current()
    conn_id = getattr(chosen, "conn_id", None) or "(the task's polars_cloud_conn_id)"
    return text.format(
        conn_id=conn_id,
        timeout_setting=settings.env_var("query_timeout_s"),
        workspace_setting="the connection's 'workspace' extra (or workspace= of the cluster)",
    )


_PERMANENT_CLASSES: dict[type[BaseException], type[PermanentFailure]] = {}


def _permanent_class(raised: type[BaseException]) -> type[PermanentFailure]:
    """``PermanentFailure``, or for a ``ComputeError`` one that is both (made once per class)."""
    from polars_cloud_provider.compute.permanent import PermanentFailure

    if not issubclass(raised, ComputeError):
        return PermanentFailure
    if raised not in _PERMANENT_CLASSES:
        _PERMANENT_CLASSES[raised] = type(
            f"Permanent{raised.__name__}", (PermanentFailure, raised), {"__module__": __name__}
        )
    return _PERMANENT_CLASSES[raised]


# Which datasets the running task read (datasets.source records them), per task.
_reads: ContextVar[tuple[Any, tuple[tuple[str, str], ...]]] = ContextVar(
    "datasets_read", default=(None, ())
)


def record_read(name: str, uri: str) -> None:
    """Remember that the running task reads dataset ``name`` at ``uri``."""
    task = _running_task()
    owner, seen = _reads.get()
    seen = seen if owner == task else ()
    if (name, uri) not in seen:
        _reads.set((task, (*seen, (name, uri))))


def reads() -> tuple[tuple[str, str], ...]:
    """``(name, uri)`` of each dataset the running task has read so far."""
    owner, seen = _reads.get()
    return seen if owner == _running_task() else ()


def _running_task() -> tuple[Any, ...] | None:
    sdk = sys.modules.get("airflow.sdk")
    if sdk is None:  # Airflow is not even loaded (and costs seconds to load): no task runs
        return None
    try:
        ti = sdk.get_current_context()["ti"]
    except Exception:  # outside an Airflow task
        return None
    return (ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending = [error]
    while pending:
        link = pending.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        if isinstance(link, BaseExceptionGroup):
            pending.extend(link.exceptions)
        if link.__cause__ is not None:
            pending.append(link.__cause__)
        elif link.__context__ is not None and not link.__suppress_context__:
            pending.append(link.__context__)


def _corrupt_files(uris: Iterable[str]) -> list[str]:
    """Local input files whose parquet footer cannot be read; remote ones are not listed."""
    import polars as pl

    found = []
    for uri in uris:
        if "://" in uri and not uri.startswith("file://"):
            continue
        for path in sorted(glob.glob(uri.removeprefix("file://"), recursive=True)):
            if not os.path.isfile(path):
                continue
            try:
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


def _names(cls: type) -> set[str]:
    return {_name(base) for base in cls.__mro__}


def _name(cls: type | str) -> str:
    return cls if isinstance(cls, str) else f"{cls.__module__}.{cls.__qualname__}"


def _first_line(error: BaseException, *, with_type: bool = False) -> str:
    lines = _service_message(str(error)).strip().splitlines()
    line = lines[0].rstrip(".") if lines else ""
    if with_type and not isinstance(error, ComputeError):
        return f"{type(error).__name__}: {line}"
    return line
