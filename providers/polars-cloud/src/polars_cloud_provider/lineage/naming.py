"""A URI as an OpenLineage dataset (namespace, name), per https://openlineage.io/docs/spec/naming
(as ``openlineage.client.naming.dataset``). A dataset is the directory read or written: a glob
stands for the directory it lists, a trailing ``/`` is dropped, a single file stays itself."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

_GLOB = set("*?[{")
_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}


def dataset_of(uri: str) -> tuple[str, str]:
    """``(namespace, name)``: ``s3://bucket`` + key, ``gs://bucket`` + key, ``file`` + path."""
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
