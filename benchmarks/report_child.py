"""Airflow's own parse figures: ``airflow dags report`` for each DAG file on its own.

Run by ``run.py`` as ``python report_child.py REPS FOLDER...``, where every FOLDER is a DAG
folder holding one DAG file (and the project's package, ignored by its ``.airflowignore``);
prints one JSON object ``{folder: [milliseconds, ...]}``.

One ``airflow dags report`` process parses a whole folder, and every file after the first finds
the project package already imported, so its figures are not comparable file by file. Here
the real command (the parser and function ``airflow`` itself calls) runs once per file and
repetition, each time in a fork of one process that has started the CLI: every file is the
first one parsed, as in a fresh ``airflow dags report``, without paying the CLI's start-up for
each. The figure is the ``duration`` Airflow's DagBag measured for the file.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import timedelta

LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def _seconds(duration: str) -> float:
    hours, minutes, seconds = duration.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds)).total_seconds()


def main() -> None:
    repetitions, folders = int(sys.argv[1]), sys.argv[2:]

    from airflow.cli import cli_parser
    from airflow.cli.commands import dag_command  # noqa: F401  (the CLI loads it on first use)
    from airflow.cli.utils import redirect_stdout_log_handlers_to_stderr
    from airflow.configuration import write_default_airflow_configuration_if_needed

    args = cli_parser.get_parser().parse_args(["dags", "report", "--output", "json"])
    redirect_stdout_log_handlers_to_stderr()
    write_default_airflow_configuration_if_needed()

    for folder in folders:  # warm-up: bytecode caches, as after the first parse
        _report_in_child(args, folder)
    times: dict[str, list[float]] = {folder: [] for folder in folders}
    for _ in range(repetitions):
        for folder in folders:
            times[folder].append(_report_in_child(args, folder) * 1000)
    print(json.dumps(times))


def _report_in_child(args, folder: str) -> float:
    with tempfile.TemporaryFile("w+") as out:
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
                    [{"name": "bench", "classpath": LOCAL_BUNDLE, "kwargs": {"path": folder}}]
                )
                os.dup2(out.fileno(), sys.stdout.fileno())
                args.func(args)
                sys.stdout.flush()
                status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        text = out.read()
    if status != 0:
        raise SystemExit(f"airflow dags report failed for {folder}:\n{text}")
    stats = json.loads(text[text.index("[") :])
    if len(stats) != 1 or stats[0]["dag_num"] in ("0", 0):
        raise SystemExit(f"airflow dags report found no DAG in {folder}: {stats}")
    return _seconds(stats[0]["duration"])


if __name__ == "__main__":
    main()
