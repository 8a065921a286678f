"""Errors a task raises when its query or its cluster misbehaves."""

from __future__ import annotations


class ComputeError(RuntimeError):
    """Base class: something went wrong running a query; the task fails (and may retry)."""


class QueryFailed(ComputeError):
    """A query ended in any state but SUCCESS (FAILED, CANCELED, ...)."""

    def __init__(self, query_id: str, status: str, detail: str = "") -> None:
        self.query_id = query_id
        self.status = status
        message = f"Polars query {query_id} ended with status {status}"
        super().__init__(f"{message}: {detail}" if detail else message)


class QueryCancelled(QueryFailed):
    """A query ended CANCELED though this task never asked to cancel it (not retried)."""

    def __init__(self, query_id: str) -> None:
        where = "outside Airflow (in the Polars Cloud UI or through its API), not by this task"
        super().__init__(query_id, "CANCELED", f"cancelled {where}")


class QueryNotFound(ComputeError):
    """Polars Cloud answered that it does not know the query (HTTP 404 or gRPC NOT_FOUND)."""

    def __init__(self, query_id: str, workspace_id: str, detail: str) -> None:
        self.query_id = query_id
        super().__init__(
            f"Polars Cloud does not know query {query_id} in workspace {workspace_id} ({detail})"
        )


class QueryStatusUnreadable(ComputeError):
    """An earlier try's query may still run (its status is unreadable): retry, never resubmit."""

    def __init__(self, query_id: str, detail: str) -> None:
        self.query_id = query_id
        super().__init__(
            f"The status of Polars query {query_id}, submitted by an earlier try, could not be "
            f"read ({detail}); it may still be running, so it is not submitted a second time. "
            "A later try asks again"
        )


class RemoteError(Exception):
    """An error raised in a child process, with its class names for the failure table."""

    def __init__(self, message: str, type_names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.type_names = type_names

    @staticmethod
    def names_of(error: BaseException) -> list[str]:
        """The dotted names of ``error``'s class and bases."""
        return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__]


class QueryTimedOut(ComputeError):
    """A query did not finish within the configured bound; it was cancelled."""

    def __init__(self, query_id: str, seconds: float, detail: str = "") -> None:
        self.query_id = query_id
        super().__init__(
            f"Polars query {query_id} did not finish within {seconds:g} s and was cancelled"
            + (f"; {detail}" if detail else "")
            + " (raise the query timeout setting if this query needs longer)"
        )


class QueryInterrupted(ComputeError):
    """The process was told to stop (SIGINT, SIGTERM) while it waited; the query was cancelled."""

    def __init__(self, query_id: str, signal_name: str) -> None:
        self.query_id = query_id
        super().__init__(f"{signal_name} while waiting for Polars query {query_id}")


class NotAuthenticated(ComputeError):
    """A compute helper was called outside a function decorated with ``@authenticate``."""


class ManifestDrift(ComputeError):
    """The worker's polars or Python version differs from the one the manifest recorded."""


class ManifestNotRegistered(ComputeError):
    """No manifest of that name is registered in the workspace."""
