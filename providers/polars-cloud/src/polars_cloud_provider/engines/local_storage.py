"""Object storage as the local backend reaches it: requests bounded by the storage timeout,
and the endpoint a query waited on (docs/design-local-engine.md)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

from polars_cloud_provider.settings import Settings

_ENDPOINT_OPTIONS = ("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint")
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_S3, _GCS = "https://s3.amazonaws.com", "https://storage.googleapis.com"
_DEFAULT_ENDPOINTS = {"s3": _S3, "s3a": _S3, "gs": _GCS, "gcs": _GCS}
PROBE_TIMEOUT_S = 5.0


def options(current: Settings) -> dict[str, Any]:
    """``storage_options`` for local reads and writes: the configured ones, plus bounds."""
    bound_ms = max(1, round(current.storage_timeout_s * 1000))
    return {
        "connect_timeout": f"{bound_ms}ms",
        "read_timeout": f"{bound_ms}ms",  # no progress for that long, not a slow transfer
        "retry_timeout_ms": bound_ms,
        **(current.storage_options or {}),
    }


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def endpoint(storage_options: dict[str, Any], uris: Iterable[str]) -> str | None:
    """The object-store endpoint the ``uris`` are reached through (None: all local)."""
    remote = [uri for uri in uris if is_remote(uri)]
    if not remote:
        return None
    configured = [storage_options.get(key) for key in _ENDPOINT_OPTIONS]
    for value in configured + [os.environ.get(name) for name in _ENDPOINT_VARIABLES]:
        if value:
            return str(value)
    scheme = remote[0].split("://", 1)[0].lower()
    return _DEFAULT_ENDPOINTS.get(scheme, f"{scheme}://{urlsplit(remote[0]).netloc}")


def unanswered(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why ``url`` gives no HTTP answer within ``timeout_s`` (None: it answers)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    connection_class = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout_s)
    try:
        connection.request("HEAD", "/")
        connection.getresponse()
    except (OSError, HTTPException) as error:
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    finally:
        connection.close()
    return None
