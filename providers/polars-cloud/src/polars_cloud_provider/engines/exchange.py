"""Swap two directories in one step, so a reader finds either the old or the new one.

Linux has ``renameat2(RENAME_EXCHANGE)`` and macOS ``renamex_np(RENAME_SWAP)``; both are
reached through ``ctypes`` (the standard library exposes neither). Elsewhere, or on a file
system that refuses them (NFS, some overlays), ``exchange`` returns False and the caller
falls back to two renames.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 2  # macOS sys/stdio.h
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def _swap_function():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        call = libc.renameat2
        return lambda a, b: call(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        call = libc.renamex_np
        return lambda a, b: call(a, b, _RENAME_SWAP)
    return None


_swap = _swap_function()


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap the directories ``a`` and ``b`` (both must exist).

    Returns False when this platform or file system cannot swap; raises ``OSError`` for any
    other failure (``FileNotFoundError`` when either is missing).
    """
    if _swap is None:
        return False
    if _swap(os.fsencode(a), os.fsencode(b)) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))
