"""Where a local sink writes until it succeeds, and how it replaces its partition.

A write of ``<dataset>/<partition>/`` goes to an entry of ``<data root>/.staging/``: a sibling
of ``raw/``, ``curated/`` and every other tree under the data root, so no read of any of them
sees a write in progress, whatever glob it uses (``curated/**/*.parquet`` included). A target
outside a local data root stages beside its dataset folder, in ``<dataset>/../.staging/``. The
entry is locked (``flock``) for as long as its writer lives. On success it is
exchanged with the partition in one step (``exchange``), under the dataset's lock: a reader
sees the old partition or the new one, never none, and of two overlapping writes the last
to finish wins. The old partition, now in the entry, is then removed.

A writer killed at any point leaves an unlocked entry; the next write into the same staging
area (any partition of any dataset under the same data root) removes it. Every function
here works from any process and needs no Airflow task, only the local file system.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from polars_cloud_provider.engines.exchange import exchange

log = logging.getLogger(__name__)

STAGING = ".staging"


@dataclass
class Staged:
    """A write in progress: ``directory`` is where the query writes, ``final`` its target."""

    final: Path
    directory: Path
    lock: int  # an open descriptor of ``directory``, flock'ed while the write lives


def staging_area(final: Path) -> Path:
    """The staging area of the partition ``final``: at the top of the local data root, outside
    every tree of it; for a target outside it, beside its dataset folder, not in it."""
    root = _local_data_root()
    final = Path(os.path.abspath(final))
    if root is not None and final.is_relative_to(root) and len(final.parts) > len(root.parts):
        return root / STAGING
    return final.parent.parent / STAGING


def _local_data_root() -> Path | None:
    from polars_cloud_provider import settings

    root = settings.load().local_data_root
    if root is None or ("://" in root and not root.startswith("file://")):
        return None
    return Path(os.path.abspath(root.removeprefix("file://")))


def stage(final: Path, query_id: str) -> Staged:
    """Reserve a locked staging entry for a write of ``final``; clear dead writers' entries."""
    area = staging_area(final)
    area.mkdir(parents=True, exist_ok=True)
    with _locked(area):  # no clearing can take the entry between its mkdir and its flock
        clear_leftovers(area)
        directory = area / f"{final.parent.name}.{final.name}.{query_id}"
        directory.mkdir()
        lock = os.open(directory, os.O_RDONLY)
        fcntl.flock(lock, fcntl.LOCK_EX)
    return Staged(final=final, directory=directory, lock=lock)


def publish(staged: Staged) -> None:
    """Put the staged write in place of its partition in one step, then drop the old one."""
    final = staged.final
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _locked(final.parent):
            _swap(staged.directory, final)
        shutil.rmtree(staged.directory, ignore_errors=True)  # now the previous partition
    finally:
        os.close(staged.lock)


def discard(staged: Staged) -> None:
    """Remove a write that did not succeed."""
    try:
        shutil.rmtree(staged.directory, ignore_errors=True)
    finally:
        os.close(staged.lock)


def clear_leftovers(area: Path) -> None:
    """Remove the entries of ``area`` whose writer is gone (killed, or done with them)."""
    with contextlib.suppress(FileNotFoundError), os.scandir(area) as entries:
        for entry in list(entries):
            _remove_if_unlocked(Path(entry.path))


def _swap(staging: Path, final: Path) -> None:
    if not final.exists():  # first write of this partition (the dataset lock is held)
        staging.rename(final)
        return
    if exchange(staging, final):
        return
    # No atomic exchange on this file system: two renames, still under the dataset lock.
    # A process killed between them leaves the partition missing until it is rewritten.
    previous = staging.with_name(f"{staging.name}.previous")
    final.rename(previous)
    staging.rename(final)
    previous.rename(staging)


def _remove_if_unlocked(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        log.info("Removing %s, left by a write that did not finish", path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except BlockingIOError:
        pass  # a live writer holds it
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
