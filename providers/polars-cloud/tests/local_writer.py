"""A separate process writing one partition through ``compute.sink`` on the local backend.

Run by the tests as ``python local_writer.py <target> <tag> <rows> <watch>``: it writes
``rows`` rows whose column ``writer`` holds ``tag`` (rows 0: a write that never ends on its
own). Mid-write it pauses once: it prints ``paused`` and waits until its stdin closes, so a
test decides when each writer goes on, and when to signal or kill it, without sleeping.

It pauses with its caller blocked waiting for the query, and, for an endless write, once the
write has put bytes on disk somewhere under ``watch`` (what a killed write would leave).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import polars as pl
from polars_cloud_provider import compute
from polars_cloud_provider.engines import backend
from polars_cloud_provider.engines.local import LocalBackend

_paused = threading.Event()


def main() -> None:
    # What Airflow's supervisor gives a task process (supervisor.py ~l.260), whatever the
    # process that started this one ignored: SIGINT is the signal a test sends.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    target, tag, rows, watch = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    before = _sizes(watch)
    if rows:
        frame = pl.LazyFrame({"n": range(rows), "writer": [tag] * rows})
    else:
        numbers = pl.LazyFrame({"n": range(100_000)})
        frame = numbers.join(numbers, how="cross").select("n", writer=pl.lit(tag))
    batches = 0

    def pause_once(batch: pl.Series) -> pl.Series:
        nonlocal batches
        batches += 1
        on_disk = rows or batches > 1_000 or _sizes(watch) != before
        if not _paused.is_set() and on_disk and _caller_waits():
            _paused.set()
            sys.stdout.write("paused\n")
            sys.stdout.flush()
            sys.stdin.buffer.read()  # until the test closes it
        return batch

    paused = frame.with_columns(
        pl.col("n").map_batches(pause_once, return_dtype=pl.Int64, is_elementwise=True)
    )
    with backend.activated(LocalBackend()):
        print(compute.sink(paused, target, on=compute.Manifest("writer")), flush=True)


def _sizes(root: Path) -> dict[str, int]:
    sizes = {}
    for parent, _, files in os.walk(root):
        for name in files:
            try:
                sizes[os.path.join(parent, name)] = os.path.getsize(os.path.join(parent, name))
            except FileNotFoundError:
                continue
    return {path: size for path, size in sizes.items() if size}


def _caller_waits() -> bool:
    """Whether the main thread is blocked waiting for the query (in the compute package)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        frame = sys._current_frames().get(threading.main_thread().ident)
        frames = []
        while frame is not None:
            frames.append(frame.f_code)
            frame = frame.f_back
        innermost_wait = bool(frames) and frames[0].co_name == "wait"
        if innermost_wait and any(f"{os.sep}compute{os.sep}" in c.co_filename for c in frames):
            return True
        time.sleep(0.001)
    raise AssertionError("the caller never started waiting for the query")


if __name__ == "__main__":
    main()
