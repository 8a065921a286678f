"""Local queries that outlive the task process (deferred waits, retries), each run in a child
process of its own session (docs/design-local-engine.md)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from polars_cloud_provider import settings
from polars_cloud_provider.compute.clusters import DISTRIBUTED, SINGLE_NODE, Mode
from polars_cloud_provider.compute.errors import QueryFailed, RemoteError
from polars_cloud_provider.engines.backend import UNKNOWN, Outcome, wait_by_polling
from polars_cloud_provider.engines.local import QUERY_PREFIX, TASK_FOLDER, LocalBackend, task_folder
from polars_cloud_provider.engines.local_staging import held

log = logging.getLogger(__name__)

RESULT = "result.json"
LOCK = "running.lock"
PID = "pid"
OUTPUT = "output.log"
RUNNER_DIR = "runner"
NICENESS = 10  # below Airflow's own processes, which a busy machine would otherwise starve


@dataclass(frozen=True)
class ChildQuery:
    query_id: str
    run_dir: Path


class LocalRunnerBackend(LocalBackend):
    """The local backend, plus queries run in a child process when ``detached``."""

    poll_max_s = 0.25  # a status is a file and a lock on this machine: cheap to ask

    def start(
        self,
        handle: Any,
        lf: pl.LazyFrame,
        mode: Mode,
        sink_uri: str | None,
        *,
        detached: bool = False,
        labels: list[str] | None = None,
    ) -> Any:
        if not detached:
            return super().start(handle, lf, mode, sink_uri)
        query_id = f"{QUERY_PREFIX}{uuid.uuid4().hex[:12]}"
        run_dir = Path(handle.local_root) / RUNNER_DIR / query_id
        run_dir.mkdir(parents=True)
        plan = lf.serialize()
        lock = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)  # handed to the child, which keeps it until it exits
        # The child's settings are this process's, with the connection's local_root, and its
        # results go under this task's folder.
        env = {**os.environ, settings.env_var("local_root"): handle.local_root}
        env[TASK_FOLDER] = task_folder()
        package_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        with open(run_dir / OUTPUT, "wb") as output:
            child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(run_dir), mode, sink_uri or ""],
                stdin=subprocess.PIPE,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                pass_fds=(lock,),
                start_new_session=True,
            )
        os.close(lock)
        (run_dir / PID).write_text(str(child.pid))
        assert child.stdin is not None
        child.stdin.write(plan)
        child.stdin.close()
        log.info("Local query %s runs in process %d (%s)", query_id, child.pid, run_dir)
        return ChildQuery(query_id=query_id, run_dir=run_dir)

    def wait(self, query: Any, timeout_s: float | None) -> Outcome:
        if isinstance(query, ChildQuery):
            return wait_by_polling(self, query, timeout_s)
        return super().wait(query, timeout_s)

    def status(self, query: Any) -> str:
        """INPROGRESS while the child holds its lock, else the status it wrote (or UNKNOWN)."""
        if not isinstance(query, ChildQuery):
            return UNKNOWN
        if not (query.run_dir / RESULT).is_file() and held(query.run_dir / LOCK):
            return "INPROGRESS"
        # The child is gone, or wrote its result just before exiting.
        return str(_result(query.run_dir).get("status", UNKNOWN))

    def outcome(self, query: ChildQuery) -> Outcome:
        result = _result(query.run_dir)
        status = result.get("status", UNKNOWN)
        if status == "SUCCESS":
            return Outcome(query_id=query.query_id, locations=list(result["locations"]))
        if status == UNKNOWN:
            output = query.run_dir / OUTPUT
            why = f"the local query process ended without a result (killed?); see {output}"
            raise QueryFailed(query.query_id, "FAILED", why)
        cause = RemoteError(result.get("message", ""), tuple(result.get("error_types", ())))
        raise QueryFailed(query.query_id, status, result.get("error", "")) from cause

    def cancel(self, query: Any) -> None:
        # An in-process query is cancelled by the wait it runs in, when that is cut short.
        if self.status(query) == "INPROGRESS":
            with contextlib.suppress(ProcessLookupError):  # the child leads its own group
                os.killpg(int((query.run_dir / PID).read_text()), signal.SIGTERM)

    def reference(self, query: Any) -> dict[str, Any]:
        run_dir = str(query.run_dir) if isinstance(query, ChildQuery) else None
        return {"backend": self.name, "query_id": self.query_id(query), "run_dir": run_dir}

    def reattach(self, reference: dict[str, Any]) -> ChildQuery | None:
        run_dir = reference.get("run_dir")
        if not run_dir or not Path(run_dir).is_dir():
            return None  # an in-process query died with its process
        return ChildQuery(query_id=str(reference["query_id"]), run_dir=Path(run_dir))

    def link(self, reference: dict[str, Any]) -> str | None:
        return None


def _result(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / RESULT).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def main(argv: list[str]) -> int:
    run_dir, sink_uri = Path(argv[0]), argv[2] or None
    mode: Mode = SINGLE_NODE if argv[1] == SINGLE_NODE else DISTRIBUTED
    os.nice(NICENESS)  # before Polars starts its threads, which inherit it
    # SIGTERM (a cancel) raises KeyboardInterrupt: the wait ends and local.py cancels the write.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    chosen = LocalBackend()
    result: dict[str, Any]
    try:
        plan = pl.LazyFrame.deserialize(sys.stdin.buffer.read())
        query = chosen.start(settings.load(), plan, mode, sink_uri)
        outcome = chosen.wait(query, None)  # the parent side enforces the deadline
        result = {"status": "SUCCESS", "locations": outcome.locations}
    except KeyboardInterrupt:
        result = {"status": "CANCELED"}
    except Exception as error:
        # The Polars error alone (a QueryFailed's cause): the parent names the query by its id.
        cause = (error.__cause__ if isinstance(error, QueryFailed) else None) or error
        result = {
            "status": "FAILED",  # a local query ends with no other status
            "error": f"{type(cause).__name__}: {cause}",
            "message": str(cause),
            "error_types": RemoteError.names_of(cause),  # the parent rebuilds a RemoteError
        }
    partial = run_dir / f".{RESULT}.partial"
    partial.write_text(json.dumps(result))
    partial.rename(run_dir / RESULT)
    return 0 if result["status"] == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
