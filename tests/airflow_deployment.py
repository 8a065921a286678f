"""A real Airflow deployment of a baked project: PostgreSQL and Airflow's four services.

Used by ``test_real_services.py`` and by benchmarks that need a running Airflow::

    with Deployment.up(project, parallelism=2) as deployment:
        deployment.api.unpause("my_dag")
        run_id = deployment.api.trigger("my_dag", "2026-01-01")
        assert deployment.wait_for_run("my_dag", run_id)["state"] == "success"

``Deployment.up`` starts PostgreSQL 15 on 127.0.0.1 (a fresh cluster in a temporary
directory, run as the ``postgres`` system user when this process is root, because PostgreSQL
refuses to run as root), runs ``airflow db migrate``, then the api-server, scheduler,
dag-processor and triggerer as separate processes of the project's own ``.venv``, with the
LocalExecutor and the project's local backend. Leaving the block stops every process it
started, by PID, children included, and removes the data directories, however it is left.

Every wait polls for an event (a log line, an API state) until a deadline; no step sleeps
for a fixed time. Each phase's wall time is recorded in ``Deployment.phases``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

POSTGRES_VERSION = "15"
AIRFLOW_SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
API_USER = "deployment-test"
POLL_S = 0.25
STOP_GRACE_S = 30.0
HANG_S = 900.0
"""Bound of every wait for a service (an answer, a state): only a hang takes that long, a
busy machine may well take minutes."""
"""How long a service may take to stop after SIGTERM before it is killed."""

# Variables of the calling shell or test run that must not reach the deployment.
_LEAKY_PREFIXES = ("AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_", "UV_PROJECT", "POLARS_CLOUD")


class DeploymentError(RuntimeError):
    """A process of the deployment failed or did not get ready in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    check: Callable[[], Any], timeout_s: float, what: str, alive: Callable[[], None] = lambda: None
) -> Any:
    """Poll ``check`` until it returns something truthy; ``alive`` raises if a process died."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive()
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DeploymentError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Stopped:
    """What stopping one process tree took."""

    name: str
    seconds: float
    processes: list[psutil.Process]  # the tree as listed before the signal
    killed: list[psutil.Process] = field(default_factory=list)  # SIGTERM's survivors


@dataclass
class Service:
    name: str
    popen: subprocess.Popen
    log: Path

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise DeploymentError(
                f"{self.name} exited with code {self.popen.returncode}; its log ends:\n"
                + tail(self.log)
            )

    def stop(
        self,
        signum: int = signal.SIGTERM,
        grace_s: float = STOP_GRACE_S,
        done: Callable[[], bool] | None = None,
    ) -> Stopped:
        """Stop the service and every process under it, by PID.

        The tree is listed before the signal: once a parent exits, its children are no
        longer reachable from it. A process still alive after ``grace_s`` (or, for the
        children, once the service has exited) is killed, and named in the result: an idle
        LocalExecutor worker forked by the scheduler inherits the scheduler's SIGTERM
        handler, which does nothing outside the scheduler process. ``done()``: the service's
        work is over though it has not exited; it is killed then.
        """
        started = time.monotonic()
        try:
            root = psutil.Process(self.popen.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        if self.popen.poll() is None:
            self.popen.send_signal(signum)
            with contextlib.suppress(DeploymentError):
                wait_until(
                    lambda: self.popen.poll() is not None or (done is not None and done()),
                    grace_s,
                    f"{self.name} to stop",
                )
            if self.popen.poll() is None and done is not None and done():
                self.popen.kill()
        survivors = _alive_with_descendants(tree)
        for process in survivors:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
        _, survivors = psutil.wait_procs(survivors, timeout=5)
        killed = []
        for process in survivors:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
                killed.append(process)
        psutil.wait_procs(survivors, timeout=10)
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        # Whatever the service forked after the listing and left in its process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        return Stopped(self.name, time.monotonic() - started, tree, killed)


def _runner_exited(triggerer: Service) -> Callable[[], bool]:
    """Whether the triggerer's trigger runner (its child that is not the log server) exited.

    What may be left of the triggerer then is a 10 s wait: it stops the runner with
    ``kill(escalation_delay=10)`` (airflow/jobs/triggerer_job_runner.py l.291, Airflow 3.3.2),
    whose loop selects on the runner's sockets; when they all closed before the runner was
    reaped, the select blocks for the whole delay although the runner has exited (task-sdk
    supervisor.py l.1111-1122). A race, lost in 2 of 4 stops of a bare ``airflow triggerer``
    ("Waiting for triggers to clean up", then "Process exited ... exit_code=0" 10.0 s later).
    """
    try:
        children = psutil.Process(triggerer.popen.pid).children()
        runners = [p for p in children if "serve-logs" not in " ".join(p.cmdline())]
    except psutil.Error:
        runners = []
    return lambda: bool(runners) and all(_exited(process) for process in runners)


def _exited(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _alive_with_descendants(processes: list[psutil.Process]) -> list[psutil.Process]:
    found: dict[int, psutil.Process] = {}
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.is_running():
                found[process.pid] = process
                for child in process.children(recursive=True):
                    found[child.pid] = child
    return list(found.values())


def start(
    name: str, command: list[str], env: Mapping[str, str], log: Path, **kwargs: Any
) -> Service:
    """Start ``command`` in a session of its own, its output in ``log``."""
    with log.open("ab") as out:
        popen = subprocess.Popen(
            command,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
    return Service(name, popen, log)


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Debian's PostgreSQL server binaries (``PG_BINDIR`` overrides)."""
    candidates = [os.environ.get("PG_BINDIR"), f"/usr/lib/postgresql/{POSTGRES_VERSION}/bin"]
    for candidate in filter(None, candidates):
        if (Path(candidate) / "postgres").is_file():
            return Path(candidate)
    raise DeploymentError(
        f"PostgreSQL {POSTGRES_VERSION} server binaries not found in "
        f"/usr/lib/postgresql/{POSTGRES_VERSION}/bin: install Debian's postgresql-"
        f"{POSTGRES_VERSION} (.ci/run does) or set PG_BINDIR."
    )


@dataclass
class Postgres:
    service: Service
    port: int
    user: str
    password: str
    database: str
    stopped: Stopped | None = None

    def url(self, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"


def _as_postgres_user() -> dict[str, Any]:
    """Popen arguments that drop root for the ``postgres`` system user."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@contextlib.contextmanager
def postgres(timeout_s: float = HANG_S) -> Iterator[Postgres]:
    """A fresh PostgreSQL cluster on a free loopback port, removed afterwards."""
    bindir = postgres_bindir()
    # Not under the caller's directory: pytest's are private to root, and the server runs
    # as another user, who needs to reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="airflow-deployment-pg-"))
    service = server = None
    try:
        as_postgres = _as_postgres_user()
        if as_postgres:
            shutil.chown(root, "postgres", "postgres")
        data, password = root / "data", secrets.token_urlsafe(16)
        password_file = root / "password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        if as_postgres:
            shutil.chown(password_file, "postgres", "postgres")
        init = subprocess.run(
            [
                bindir / "initdb",
                f"--pgdata={data}",
                "--username=airflow",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            cwd=root,
            **as_postgres,
        )
        password_file.unlink()
        if init.returncode != 0:
            raise DeploymentError(f"initdb failed:\n{init.stdout}{init.stderr}")
        port = free_port()
        # Durability off: a throwaway cluster for tests, not a production setting.
        command = [
            bindir / "postgres",
            "-D", data, "-p", str(port), "-h", "127.0.0.1", "-k", root,
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]  # fmt: skip
        service = start(
            "postgres", command, {"PATH": os.environ["PATH"]}, root / "log", cwd=root, **as_postgres
        )
        wait_until(
            lambda: "ready to accept connections" in service.log.read_text(errors="replace"),
            timeout_s,
            "PostgreSQL to accept connections",
            service.check_alive,
        )
        database = "airflow"
        created = subprocess.run(
            [bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "airflow", database],
            env={"PATH": os.environ["PATH"], "PGPASSWORD": password},
            capture_output=True,
            text=True,
        )
        if created.returncode != 0:
            raise DeploymentError(f"createdb failed: {created.stderr}")
        server = Postgres(service, port, "airflow", password, database)
        yield server
    finally:
        if service is not None:
            stopped = service.stop(signal.SIGINT)  # "fast" shutdown: clients are disconnected
            if server is not None:
                server.stopped = stopped
        shutil.rmtree(root, ignore_errors=True)


# --- the REST API ------------------------------------------------------------------------------


class Api:
    """Airflow's REST API v2, authenticated with a token from the simple auth manager."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self._credentials = {"username": username, "password": password}
        # A busy machine can keep the API server from answering for a while: minutes only
        # bound a hang.
        self._client = httpx.Client(base_url=base_url, timeout=HANG_S)

    def close(self) -> None:
        self._client.close()

    def login(self) -> None:
        # The simple auth manager issues a JWT for a configured user at POST /auth/token.
        response = self._client.post("/auth/token", json=self._credentials)
        response.raise_for_status()
        self._client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, f"/api/v2{path}", **kwargs)
        if response.status_code == 401:  # the token expired: a long benchmark
            self.login()
            response = self._client.request(method, f"/api/v2{path}", **kwargs)
        if response.is_error:
            raise DeploymentError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def connection_types(self) -> list[dict[str, Any]]:
        """What the UI's connection form offers per connection type (its own endpoint)."""
        response = self._client.get("/ui/connections/hook_meta")
        if response.status_code == 401:
            self.login()
            response = self._client.get("/ui/connections/hook_meta")
        if response.is_error:
            raise DeploymentError(f"GET hook_meta: {response.status_code} {response.text}")
        return response.json()

    def providers(self) -> dict[str, str]:
        listed = self.request("GET", "/providers", params={"limit": 1000})["providers"]
        return {provider["package_name"]: provider["version"] for provider in listed}

    def health(self) -> dict[str, Any]:
        """The components' health; empty while the api-server does not answer yet."""
        try:
            response = self._client.get("/api/v2/monitor/health")
        except httpx.TransportError:
            return {}
        return response.json() if response.status_code == 200 else {}

    def dag_ids(self) -> set[str]:
        return {
            dag["dag_id"] for dag in self.request("GET", "/dags", params={"limit": 1000})["dags"]
        }

    def import_errors(self) -> list[dict[str, Any]]:
        return self.request("GET", "/importErrors", params={"limit": 1000})["import_errors"]

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, logical_date: str | None, run_id: str | None = None) -> str:
        """Trigger a run for ``logical_date`` (``YYYY-MM-DD``, midnight UTC); its run id."""
        body: dict[str, Any] = {
            "logical_date": f"{logical_date}T00:00:00Z" if logical_date else None
        }
        if run_id:
            body["dag_run_id"] = run_id
        return self.request("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        found = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti for ti in found["task_instances"]}

    def event_logs(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Airflow's audit events of one run (``running``, ``deferred``, ``success``...)."""
        params = {"dag_id": dag_id, "run_id": run_id, "limit": 1000}
        return self.request("GET", "/eventLogs", params=params)["event_logs"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        found = self.request("GET", path, headers={"Accept": "application/json"})
        content = found.get("content", "")
        if not isinstance(content, list):
            return str(content)
        return "\n".join(_log_line(line) for line in content)


def _utc(timestamp: str) -> datetime:
    moment = datetime.fromisoformat(timestamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _log_line(line: Any) -> str:
    """A structured log line as text: its message, and its exception chain if any."""
    if not isinstance(line, dict):
        return str(line)
    text = str(line.get("event", ""))
    for error in line.get("error_detail") or []:  # structlog's exception stacks
        text += f"\n  {error.get('exc_type')}: {error.get('exc_value')}"
        text += "".join(f"\n  note: {note}" for note in error.get("exc_notes") or [])
    return text


# --- the deployment ----------------------------------------------------------------------------


_PROJECT_ENVIRONMENT = """
import json, sys
from pathlib import Path
from polars_cloud_provider import settings as provider_settings
from dataclasses import replace
from polars_cloud_provider.devtools.local_airflow import local_environment
from {package} import settings
from {package}.dev import PROJECT

base = json.loads(sys.argv[2])
env = local_environment(replace(PROJECT, root=Path(sys.argv[1])), base)
names = {{
    field: (settings if field in settings.DEFAULTS else provider_settings).env_var(field)
    for field in json.loads(sys.argv[3])
}}
print(json.dumps({{"env": env, "names": names}}))
"""


def package_of(project: Path) -> str:
    """The project's package: the one folder of ``dags/`` that is a Python package."""
    [package] = [p.name for p in (project / "dags").iterdir() if (p / "__init__.py").is_file()]
    return package


def project_environment(
    project: Path, base: Mapping[str, str], fields: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The project's own local Airflow environment (its ``dev.py``, through the provider's
    ``devtools``) over ``base``,
    and the environment variable of each settings field in ``fields``."""
    python = project / ".venv" / "bin" / "python"
    script = _PROJECT_ENVIRONMENT.format(package=package_of(project))
    result = subprocess.run(
        [python, "-c", script, str(project), json.dumps(dict(base)), json.dumps(list(fields))],
        cwd=project / "dags",
        env=dict(base),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DeploymentError(f"could not read the project's local environment:\n{result.stderr}")
    found = json.loads(result.stdout)
    return found["env"], found["names"]


def sync_environment(project: Path, timeout_s: float = 600) -> None:
    """Create the project's ``.venv`` as ``make install`` does (``uv sync``)."""
    uv = shutil.which("uv")
    if uv is None:
        raise DeploymentError("uv is not on PATH: install it (.ci/run does)")
    result = subprocess.run(
        [uv, "sync", "--quiet"],
        cwd=project,
        env=clean_base_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if result.returncode != 0:
        raise DeploymentError(f"uv sync failed in {project}:\n{result.stderr[-3000:]}")


def clean_base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env.update(extra)
    return env


@dataclass
class Deployment:
    project: Path
    workdir: Path
    env: dict[str, str]
    names: dict[str, str]  # settings field -> its environment variable
    api: Api
    api_port: int
    database: Postgres
    services: dict[str, Service]
    phases: dict[str, float]
    stopped: list[Stopped] = field(default_factory=list)
    task_env: dict[str, str] = field(default_factory=dict)  # the scheduler's overrides

    @property
    def airflow(self) -> Path:
        return self.project / ".venv" / "bin" / "airflow"

    @property
    def data_root(self) -> str:
        return self.env[self.names["data_root"]]

    def check_alive(self) -> None:
        for service in self.services.values():
            service.check_alive()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Record the wall time of the block as the phase ``name``."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = time.monotonic() - started

    def wait(self, check: Callable[[], Any], timeout_s: float, what: str) -> Any:
        """``wait_until`` that also fails at once when a service has died."""
        return wait_until(check, timeout_s, what, self.check_alive)

    # -- services

    def start_service(self, name: str, env: Mapping[str, str] | None = None) -> Service:
        command = [str(self.airflow), name]
        if name == "api-server":
            command += ["--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
        log = self.workdir / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        service = start(name, command, {**self.env, **(env or {})}, log, cwd=self.workdir)
        self.services[name] = service
        return service

    def stop_service(self, name: str, signum: int = signal.SIGTERM) -> Stopped:
        service = self.services.pop(name)
        done = _runner_exited(service) if name == "triggerer" else None
        stopped = service.stop(signum, done=done)
        self.stopped.append(stopped)
        return stopped

    def use_task_env(self, overrides: Mapping[str, str]) -> None:
        """Give tasks ``overrides`` on top of the deployment's environment (another data
        root, say). Tasks run in LocalExecutor workers forked by the scheduler and take its
        environment: the scheduler is restarted when its overrides differ, or started when
        it is not running."""
        current = self.services.get("scheduler")
        if current is not None and self.task_env == dict(overrides):
            return
        if current is not None:
            self.stop_service("scheduler")
        since = datetime.now(UTC)
        self.start_service("scheduler", overrides)
        self.task_env = dict(overrides)
        self.wait_healthy(120, since)

    def wait_healthy(self, timeout_s: float, since: datetime | None = None) -> None:
        """Wait until every component reports healthy, with a heartbeat after ``since``
        (a restarted component's predecessor stays "healthy" for a while)."""
        components = ("scheduler", "triggerer", "dag_processor")

        def healthy() -> bool:
            health = self.api.health()
            if health.get("metadatabase", {}).get("status") != "healthy":
                return False
            for component in components:
                state = health.get(component) or {}
                beat = state.get(f"latest_{component}_heartbeat")
                if state.get("status") != "healthy" or not beat:
                    return False
                if since is not None and _utc(beat) < since:
                    return False
            return True

        self.wait(healthy, timeout_s, "every Airflow component to report healthy")

    def wait_for_dags(self, dag_ids: set[str], timeout_s: float = HANG_S) -> None:
        def parsed() -> bool:
            if self.api.import_errors():
                return True  # reported by the caller: nothing more will appear
            return dag_ids <= self.api.dag_ids()

        self.wait(parsed, timeout_s, f"the DAG processor to parse {sorted(dag_ids)}")

    # -- runs

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float = HANG_S) -> dict[str, Any]:
        """Wait until the run is finished (success or failed); return it."""
        return self.wait(
            lambda: (run := self.api.run(dag_id, run_id))["state"] in ("success", "failed") and run,
            timeout_s,
            f"{dag_id} run {run_id} to finish ({self.describe(dag_id, run_id)})",
        )

    def wait_for_task(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout_s: float = HANG_S
    ) -> dict[str, Any]:
        return self.wait(
            lambda: (
                (ti := self.api.task_instances(dag_id, run_id).get(task_id))
                and ti["state"] in states
                and ti
            ),
            timeout_s,
            f"{dag_id}.{task_id} to be {' or '.join(sorted(states))}",
        )

    def describe(self, dag_id: str, run_id: str) -> str:
        """Every task's state and try, for failure messages."""
        try:
            tis = self.api.task_instances(dag_id, run_id)
        except DeploymentError as error:
            return str(error)
        return ", ".join(f"{t}={ti['state']} (try {ti['try_number']})" for t, ti in tis.items())

    # -- set-up and tear-down

    @classmethod
    @contextlib.contextmanager
    def up(
        cls,
        project: Path,
        *,
        parallelism: int = 4,
        settings: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        timeout_s: float = HANG_S,
    ) -> Iterator[Deployment]:
        """Start PostgreSQL and the four services for ``project`` (which has its ``.venv``).

        ``settings`` maps the project's settings fields (``retry_delay_s``...) to values,
        set through their environment variables; ``extra_env`` is added as it is. Airflow's
        home, logs and the data root live in a temporary directory, removed at the end.
        """
        phases: dict[str, float] = {}
        workdir = Path(tempfile.mkdtemp(prefix="airflow-deployment-"))
        stopping = None
        try:
            with contextlib.ExitStack() as stack:
                started = time.monotonic()
                database = stack.enter_context(postgres())
                phases["postgres: initdb and start"] = time.monotonic() - started
                deployment = cls._prepare(
                    project, workdir, database, phases, parallelism, settings, extra_env
                )
                stack.callback(deployment._stop_services)
                with deployment.phase("airflow db migrate"):
                    deployment._migrate(timeout_s)
                with deployment.phase("services: start until healthy"):
                    for name in AIRFLOW_SERVICES:
                        deployment.start_service(name)
                    deployment.wait(deployment.api.health, timeout_s, "the api-server to answer")
                    deployment.api.login()
                    deployment.wait_healthy(timeout_s)
                try:
                    yield deployment
                finally:
                    stopping = time.monotonic()
        finally:
            if not os.environ.get("KEEP_DEPLOYMENT"):  # set it to read the logs afterwards
                shutil.rmtree(workdir, ignore_errors=True)
            if stopping is not None:
                phases["stop: services, PostgreSQL, data"] = time.monotonic() - stopping

    def _migrate(self, timeout_s: float) -> None:
        migrate = subprocess.run(
            [self.airflow, "db", "migrate"],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if migrate.returncode != 0:
            raise DeploymentError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}")

    def _stop_services(self) -> None:
        # Side by side, the api-server last: tasks still finishing report to it.
        with ThreadPoolExecutor() as pool:
            stopped = list(
                pool.map(self.stop_service, [n for n in self.services if n != "api-server"])
            )
        self.api.close()  # an open keep-alive connection holds up the api-server's shutdown
        if "api-server" in self.services:
            stopped.append(self.stop_service("api-server"))
        for record in stopped:
            self.phases[f"stop: {record.name}"] = record.seconds

    @property
    def processes(self) -> list[psutil.Process]:
        """Every process the deployment stopped so far (services, children, PostgreSQL)."""
        stopped = [*self.stopped, *filter(None, [self.database.stopped])]
        return [process for record in stopped for process in record.processes]

    @classmethod
    def _prepare(
        cls,
        project: Path,
        workdir: Path,
        database: Postgres,
        phases: dict[str, float],
        parallelism: int,
        settings: Mapping[str, str] | None,
        extra_env: Mapping[str, str] | None,
    ) -> Deployment:
        home = workdir / "airflow-home"
        home.mkdir()
        api_port = free_port()
        password = secrets.token_urlsafe(16)
        passwords = home / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({API_USER: password}))
        passwords.chmod(0o600)
        settings = {"data_root": str(workdir / "data"), **(settings or {})}
        settings["local_root"] = str(workdir / "intermediate")
        settings.setdefault("local_data_root", settings["data_root"])  # where writes are staged
        env, names = project_environment(project, clean_base_env(), list(settings))
        env.update({names[name]: value for name, value in settings.items()})
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database.url(),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(parallelism),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{API_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                # Only runs triggered through the API: no scheduled run competes with them.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                # Checks that run every 5 or 15 s in production, at every second here: a test
                # waits on the heartbeat of a restarted service, or on a trigger timeout.
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "1",
                # Airflow's log servers default to fixed ports; another Airflow may hold them.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                **(extra_env or {}),
            }
        )
        api = Api(f"http://127.0.0.1:{api_port}", API_USER, password)
        return cls(project, workdir, env, names, api, api_port, database, {}, phases)
