"""Where a local sink writes until it succeeds, outside every tree a reader globs, and how it
then replaces its partition in one step (docs/design-local-engine.md)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from polars_cloud_provider import settings
from polars_cloud_provider.engines.local_storage import is_remote

log = logging.getLogger(__name__)

STAGING = ".staging"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 2  # macOS sys/stdio.h
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


@dataclass
class Staged:
    """A write in progress: ``directory`` is where the query writes, ``final`` its target."""

    final: Path
    directory: Path
    lock: int  # an open descriptor of ``directory``, flock'ed while the write lives


def stage(final: Path, query_id: str) -> Staged:
    """Reserve a locked entry for a write of ``final`` in ``<data root>/.staging`` (a partition
    under the local data root) or ``<dataset>/../.staging``, clearing those of dead writers."""
    absolute = Path(os.path.abspath(final))
    area = absolute.parent.parent / STAGING
    root = settings.load().local_data_root
    if root is not None and not is_remote(root):
        base = Path(os.path.abspath(root.removeprefix("file://")))
        if absolute.is_relative_to(base) and len(absolute.parts) > len(base.parts):
            area = base / STAGING
    area.mkdir(parents=True, exist_ok=True)
    with _locked(area):  # no clearing can take the entry between its mkdir and its flock
        for entry in list(area.iterdir()):
            if not held(entry):  # its writer is gone, or done with it
                log.info("Removing %s, left by a write that did not finish", entry)
                shutil.rmtree(entry, ignore_errors=True)
        directory = area / f"{final.parent.name}.{final.name}.{query_id}"
        directory.mkdir()
        lock = os.open(directory, os.O_RDONLY)
        fcntl.flock(lock, fcntl.LOCK_EX)
    return Staged(final=final, directory=directory, lock=lock)


def publish(staged: Staged) -> None:
    """Put the staged write in place of its partition in one step, then drop the old one."""
    final = staged.final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with _locked(final.parent):
            if not final.exists():  # the first write of this partition
                staged.directory.rename(final)
            elif not exchange(staged.directory, final):
                # No atomic exchange on this file system: two renames, under the dataset lock.
                previous = staged.directory.with_name(f"{staged.directory.name}.previous")
                final.rename(previous)
                try:
                    staged.directory.rename(final)
                except OSError:
                    previous.rename(final)  # the earlier partition back where readers look
                    raise
                previous.rename(staged.directory)
    finally:
        discard(staged)  # the previous partition by now, if the exchange went through


def discard(staged: Staged) -> None:
    """Remove a staging entry (a write that did not succeed) and release its lock."""
    try:
        shutil.rmtree(staged.directory, ignore_errors=True)
    finally:
        os.close(staged.lock)


_libc = ctypes.CDLL(None, use_errno=True)


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap the directories ``a`` and ``b``; False when this platform or file
    system cannot (any other failure raises ``OSError``)."""
    first, second = os.fsencode(a), os.fsencode(b)
    if sys.platform.startswith("linux") and hasattr(_libc, "renameat2"):
        failed = _libc.renameat2(_AT_FDCWD, first, _AT_FDCWD, second, _RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(_libc, "renamex_np"):
        failed = _libc.renamex_np(first, second, _RENAME_SWAP)
    else:
        return False
    if failed == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def held(path: Path) -> bool:
    """Whether a process (this one included) holds the ``flock`` of ``path`` (False: missing)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # also drops the lock this call took
    return False


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
