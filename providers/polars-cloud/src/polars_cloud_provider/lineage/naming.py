"""A URI as an OpenLineage dataset, as the naming spec writes it
(https://openlineage.io/docs/spec/naming; the same as ``openlineage.client.naming.dataset``):

- ``s3://bucket/key`` (or s3a/s3n): namespace ``s3://bucket``, name ``key``;
- ``gs://bucket/key``: namespace ``gs://bucket``, name ``key``;
- ``abfss://container@account.dfs.core.windows.net/path``: that namespace, name ``path``;
- a local path or ``file://`` URI: namespace ``file``, name the absolute path.

A dataset is the directory a query reads or writes: a glob stands for the directory it
lists (``raw/orders/*.parquet`` is ``raw/orders``), and a trailing ``/`` is dropped. A single
file stays itself.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

_GLOB = set("*?[{")
_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}


def dataset_of(uri: str) -> tuple[str, str]:
    """``(namespace, name)`` of the dataset at ``uri``."""
    if "://" not in uri or uri.startswith("file://"):
        path = os.path.abspath(uri.removeprefix("file://"))
        return "file", _without_glob(path, absolute=True)
    parts = urlsplit(uri)
    scheme = _SCHEMES.get(parts.scheme, parts.scheme)
    name = _without_glob(parts.path.lstrip("/"), absolute=False)
    return f"{scheme}://{parts.netloc}", name or "/"


def _without_glob(path: str, *, absolute: bool) -> str:
    kept: list[str] = []
    for part in path.split("/"):
        if _GLOB & set(part):
            break
        kept.append(part)
    joined = "/".join(kept).rstrip("/")
    return joined or ("/" if absolute else "")
