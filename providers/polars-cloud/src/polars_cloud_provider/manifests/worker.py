"""Register the manifests from inside an Airflow task (the ``register_manifests`` DAG), with the
workers' own interpreter: Polars Cloud refuses a manifest to another Python (``versions``)."""

from __future__ import annotations

import logging
from pathlib import Path

from polars_cloud_provider.compute.errors import ComputeError
from polars_cloud_provider.engines import backend
from polars_cloud_provider.manifests import spec, sync

log = logging.getLogger(__name__)

FILE_NAME = "manifests.toml"


def manifests_file(dags_folder: Path) -> Path:
    """``manifests.toml`` beside the DAGs folder (where the Dockerfile copies it), else in it."""
    candidates = [dags_folder.parent / FILE_NAME, dags_folder / FILE_NAME]
    if found := next((path for path in candidates if path.is_file()), None):
        return found
    raise ComputeError(
        f"No {FILE_NAME} found at {' or '.join(map(str, candidates))}: deploy it beside the "
        "DAGs folder (the Dockerfile copies it to /opt/airflow/) or inside it."
    )


def register(dags_folder: Path, *, check_only: bool = False, force: bool = False) -> list[str]:
    """Register (or check) the manifests as the task is logged in; one line per manifest."""
    declared = spec.load(manifests_file(dags_folder)).manifests
    chosen = backend.active()
    if chosen.name != "cloud":
        log.info("The %s backend has no manifests: what would be registered:", chosen.name)
        results = sync.plan(declared)
    else:
        from polars_cloud_provider.engines.cloud import ManifestRegistry

        registry = ManifestRegistry()
        if check_only:
            results = sync.check(declared, registry)
        else:
            results = sync.register(declared, registry, force)
    lines = sync.lines(results)
    for line in lines:
        log.info("%s", line)
    if failed := [result.name for result in results if result.failed]:
        raise ComputeError(f"{len(failed)} manifest(s) failed: {', '.join(failed)}")
    return lines
