"""Intermediate results of the local backend: one directory per query, kept for a while.

Polars Cloud deletes intermediate results some hours after their query; the local backend
mirrors that: every local query first removes the results older than the retention
setting (a local directory only; give an object store a lifecycle rule instead).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import shutil
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

QUERY_PREFIX = "local-"
"""Every local query id, hence every query's directory name, starts with this."""


def query_directory(root: str, query_id: str) -> str:
    """A directory unique to this run, task and query under ``root``."""
    return "/".join([root.rstrip("/"), *_task_path(), query_id])


def prune(root: str, retention_s: float) -> None:
    """Remove the query directories under ``root`` untouched for longer than ``retention_s``,
    then the run and task directories that are empty and as old."""
    if "://" in root and not root.startswith("file://"):
        return
    base = Path(root.removeprefix("file://"))
    cutoff = time.time() - retention_s
    containers: list[tuple[Path, float]] = []  # with their age before any removal below
    for parent, directories, _ in os.walk(base):
        queries = [name for name in directories if name.startswith(QUERY_PREFIX)]
        # Not into the queries: each is judged by its entries up to the first recent one, or
        # every query would pay for walking all the results kept.
        directories[:] = [name for name in directories if not name.startswith(QUERY_PREFIX)]
        for path in (Path(parent, name) for name in directories):
            containers.append((path, _last_change(path)))
        for path in (Path(parent, name) for name in queries):
            if _untouched_since(path, cutoff):
                log.info("Removing intermediate results older than the retention: %s", path)
                shutil.rmtree(path, ignore_errors=True)
    for path, changed in reversed(containers):  # a task's directory before its run's
        if changed < cutoff:
            with contextlib.suppress(OSError):  # only an empty one goes
                path.rmdir()


def _untouched_since(query: Path, cutoff: float) -> bool:
    return all(_last_change(path) < cutoff for path in itertools.chain([query], query.rglob("*")))


def _last_change(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed meanwhile, by another task's pruning
        return float("inf")


def _task_path() -> list[str]:
    try:
        ti = sys.modules["airflow.sdk"].get_current_context()["ti"]  # not loaded: no task
        parts = [ti.dag_id, ti.run_id, ti.task_id]
        if ti.map_index is not None and ti.map_index >= 0:
            parts.append(str(ti.map_index))
    except Exception:  # outside a running task (a test calling the helper directly)
        parts = ["outside-airflow"]
    return [re.sub(r"[^A-Za-z0-9._=-]", "_", part) for part in parts]
