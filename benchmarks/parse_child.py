"""Time how long each DAG file takes to execute, the way Airflow's DAG processor runs it.

Run by ``run.py`` as ``python parse_child.py REPS FILE...``; prints one JSON object:
``{file: [milliseconds, ...]}``.

The DAG processor imports the ``airflow`` modules a file names (here: ``airflow.sdk``), then
forks a child per parse, and the child loads the file with ``SourceFileLoader`` after putting
its DAG folder on ``sys.path``. This script does the same: it imports ``airflow.sdk`` and
nothing else of note, then for every repetition of every file forks a child that times only
loading and executing the file. Each child starts from the warm parent, so whatever the file
imports beyond that (the project package, polars...) is paid again on every repetition, as it
is on every parse. Files take turns, so a drift in machine speed spreads over all of them.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
import time

import airflow.sdk  # noqa: F401  (what the DAG processor has imported before it parses)


def load(path: str) -> None:
    """Execute the DAG file ``path`` as Airflow's importer does."""
    sys.path.append(os.path.dirname(path))  # the DAG folder (bundle) is on sys.path
    name = "bench_dag_" + os.path.splitext(os.path.basename(path))[0]
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)


def timed_in_child(path: str) -> float:
    """Milliseconds to load ``path`` in a forked child of this process."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: time the load, report it, leave without cleanup
        os.close(read_end)
        status = 0
        try:
            started = time.perf_counter_ns()
            load(path)
            report = str((time.perf_counter_ns() - started) / 1e6)
        except BaseException as error:
            report, status = f"ERROR {type(error).__name__}: {error}", 1
        os.write(write_end, report.encode())
        os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    report = b"".join(chunks).decode()
    if report.startswith("ERROR") or not report:
        raise SystemExit(f"parsing {path} failed: {report or 'the child died'}")
    return float(report)


def main() -> None:
    repetitions, files = int(sys.argv[1]), sys.argv[2:]
    for path in files:  # warm-up: writes the package's bytecode caches, as a first parse does
        timed_in_child(path)
    times: dict[str, list[float]] = {path: [] for path in files}
    for repetition in range(repetitions):
        shift = repetition % len(files)
        for path in files[shift:] + files[:shift]:
            times[path].append(timed_in_child(path))
    print(json.dumps(times))


if __name__ == "__main__":
    main()
