"""Intermediate results of the local backend: one directory per query, kept for a while.

Polars Cloud deletes intermediate results some hours after their query; the local backend
mirrors that: every local query first removes the results older than the retention
setting (a local directory only; give an object store a lifecycle rule instead).
"""

from __future__ import annotations

import contextlib
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
    then the run and task directories they leave empty."""
    if "://" in root and not root.startswith("file://"):
        return
    base = Path(root.removeprefix("file://"))
    cutoff = time.time() - retention_s
    for parent, directories, _ in os.walk(base, topdown=False):
        for name in directories:
            path = Path(parent, name)
            if not name.startswith(QUERY_PREFIX):
                if _last_change(path) < cutoff:
                    with contextlib.suppress(OSError):  # only an empty one goes
                        path.rmdir()
            elif max(map(_last_change, [path, *path.rglob("*")])) < cutoff:
                log.info("Removing intermediate results older than the retention: %s", path)
                shutil.rmtree(path, ignore_errors=True)


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
