"""Register the manifests from inside an Airflow task: the workers' own interpreter.

Polars Cloud records the polars and Python versions of the process that registers a
manifest and refuses it to a process with other ones, comparing Python including the patch
(``'3.11.7'``, polars_cloud/context/compute.py ~l.408). A laptop's 3.11.x and the worker
image's 3.11.y differ, so the ``register_manifests`` DAG runs the registration on a worker.
"""

from __future__ import annotations

import logging
from pathlib import Path

from polars_cloud_provider.compute.errors import ComputeError
from polars_cloud_provider.engines import backend
from polars_cloud_provider.manifests import spec, sync

log = logging.getLogger(__name__)

FILE_NAME = "manifests.toml"


def manifests_file(dags_folder: Path) -> Path:
    """``manifests.toml``: next to the DAGs folder (the project root, or /opt/airflow in the
    image, where the Dockerfile copies it), else inside the DAGs folder."""
    candidates = [dags_folder.parent / FILE_NAME, dags_folder / FILE_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ComputeError(
        f"No {FILE_NAME} found at {' or '.join(map(str, candidates))}: deploy it beside the "
        "DAGs folder (the Dockerfile copies it to /opt/airflow/) or inside it."
    )


def register(dags_folder: Path, *, check_only: bool = False, force: bool = False) -> list[str]:
    """Register (or, with ``check_only``, check) every manifest of the ``manifests.toml``
    beside ``dags_folder`` (the folder of the DAG file calling it); one line per manifest."""
    path = manifests_file(dags_folder)
    declared = spec.load(path)
    chosen = backend.active()
    if chosen.name != "cloud":
        results = sync.plan(declared.manifests)
        log.info("The %s backend has no manifests: what would be registered:", chosen.name)
    else:
        from polars_cloud_provider.engines.cloud import ManifestRegistry

        registry = ManifestRegistry()  # the task is already logged in with its connection
        if check_only:
            results = sync.check(declared.manifests, registry)
        else:
            results = sync.register(declared.manifests, registry, force)
    width = max(len(result.name) for result in results)
    lines = [result.line(width) for result in results]
    for line in lines:
        log.info("%s", line)
    failed = [result.name for result in results if result.failed]
    if failed:
        raise ComputeError(f"{len(failed)} manifest(s) failed: {', '.join(failed)}")
    return lines
