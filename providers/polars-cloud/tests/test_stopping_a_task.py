"""Stopping a task stops its query: a real task process, run by Airflow's own supervisor, is
marked failed while it waits; Airflow sends it SIGTERM; the query must be cancelled.

Airflow 3 answers SIGTERM by calling the operator's on_kill() and returning
(task_runner.py ~l.1544); a plain @task's on_kill does nothing, and the supervisor escalates
to SIGKILL 5 s later (supervisor.py ~l.1094). The task is the one of tests/dags/
stop_waiting_task.py (a @polars_task with nothing upstream that waits on its query), Polars
Cloud is the autospec fake, and the whole process tree runs without network (unshare) where
the system allows it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime

import polars as pl
import polars_cloud as pc
import pytest
from conftest import DAGS_FOLDER
from polars_cloud_provider import compute, settings
from polars_cloud_provider.compute import execution

DAG_ID, TASK_ID = "stop_waiting_task", "wait_for_query"
ESCALATION_S = 300.0  # the supervisor's wait between SIGTERM and SIGKILL (Airflow's: 5 s)

# Runs in its own process: the fake, then one task under Airflow's supervisor, which forks
# the task process (it inherits the fake) and heartbeats to the API every second.
_SUPERVISED_RUN = """
import os
import sys
from uuid import UUID

dags, fake_dir, dag_id, task_id, run_id, ti_id, dag_version_id = sys.argv[1:8]
ESCALATION_S = float(sys.argv[8])
sys.path[:0] = [dags, fake_dir]
# Polars is not fork-safe (a child forked after importing it hangs at exit), so the fake
# is installed in the task process, when its backend is first chosen: nothing in this
# (the supervisor's) process imports polars, as in a deployment.
from polars_cloud_provider.engines import backend

backend.BACKENDS["cloud"] = "stopped_task_fake:CloudBackend"

# What an executor hands the supervisor: the workload's task instance and bundle.
from airflow.executors.workloads import BundleInfo, TaskInstance
from airflow.sdk.execution_time import supervisor
from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor, supervise_task

# The supervisor escalates to SIGKILL 5 s after its SIGTERM: on a busy machine the task can
# take longer than that to unwind, and the test is about the task ending on SIGTERM at all.
# Minutes, here, only bound a task that never ends.
_kill = supervisor.WatchedSubprocess.kill


def _patient_kill(self, signal_to_send=supervisor.signal.SIGINT, escalation_delay=5.0, force=False):
    return _kill(self, signal_to_send, max(escalation_delay, ESCALATION_S), force)


supervisor.WatchedSubprocess.kill = _patient_kill
_service = supervisor.WatchedSubprocess._service_subprocess


def _service_until_exit(self, max_wait_time, raise_on_timeout=False, expect_signal=None):
    # Once the task has closed all its sockets, Airflow's loop selects on none: that blocks
    # for the rest of the escalation delay even when the process exits a moment later (a
    # race: its sockets close before it is reaped). Wait on the process itself instead.
    if self.selector.get_map() or self._exit_code is not None:
        return _service(self, max_wait_time, raise_on_timeout, expect_signal)
    try:
        self._process.wait(timeout=max(0.01, max_wait_time))
    except self._process.TimeoutExpired:
        pass
    return self._check_subprocess_exit(raise_on_timeout, expect_signal)


supervisor.WatchedSubprocess._service_subprocess = _service_until_exit

supervise_task(
    ti=TaskInstance(
        id=UUID(ti_id), task_id=task_id, dag_id=dag_id, run_id=run_id, try_number=1,
        map_index=-1, dag_version_id=UUID(dag_version_id), pool_slots=1, priority_weight=1,
    ),
    bundle_info=BundleInfo(name="dags-folder"),
    dag_rel_path=f"{dag_id}.py",
    token="",
    # The execution API served in this process, as dag.test() serves it (Airflow has no public
    # constructor for it; a real API server would be a deployment, as in the template's tests).
    client=InProcessTestSupervisor._api_client(),
)
"""

# Imported by the task process: the fake Polars Cloud, whose query never ends.
_FAKE = """
import os
import threading
from pathlib import Path

import polars_cloud as pc
import polars_cloud_provider.testing as fake_polars_cloud

fake = fake_polars_cloud.install(setattr)
said = []


def still_running():
    if not said:  # tell the test, once, that the task is waiting on its query
        said.append(True)
        with open(os.environ["STOPPED_TASK_READY"], "w") as fifo:
            fifo.write("waiting\\n")
    return pc.QueryStatus.INPROGRESS


def wait_for_ever(**_):  # what await_result does for a query that never ends
    still_running()
    threading.Event().wait()


fake.query.get_status.side_effect = still_running
fake.query.await_result.side_effect = wait_for_ever
fake.query.cancel.side_effect = lambda: Path(os.environ["STOPPED_TASK_RECORD"]).write_text(
    "cancelled"
)

from polars_cloud_provider.engines.cloud import CloudBackend  # noqa: E402
"""


def _without_network() -> list[str]:
    """``unshare -rn`` (a network namespace with no interface up) where the system allows."""
    try:
        subprocess.run(["unshare", "-rn", "true"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return ["unshare", "-rn"]


def _queued(dag_id: str, task_id: str):
    """A run of the DAG with the task QUEUED, as the scheduler leaves it for a worker."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.dagrun import get_or_create_dagrun
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py"))
    sync_bag_to_db(bag, "dags-folder", None)
    dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(bag.dags[dag_id]))
    date = datetime(2026, 1, 1, tzinfo=UTC)
    with create_session() as session:
        run = get_or_create_dagrun(
            dag=dag,
            run_id="manual__stopped_task",
            logical_date=date,
            data_interval=(date, date),
            run_after=date,
            conf=None,
            triggered_by=DagRunTriggeredByType.TEST,
            triggering_user_name=None,
            start_date=date,
            session=session,
        )
        ti = run.get_task_instance(task_id, session=session)
        ti.try_number, ti.state = 1, TaskInstanceState.QUEUED
        session.merge(ti)
        return run.run_id, str(ti.id), str(ti.dag_version_id)


def test_a_task_marked_failed_while_it_waits_cancels_its_query(
    airflow_db, cloud_connection, tmp_path
) -> None:
    from airflow import settings
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import update

    dag_id, task_id = DAG_ID, TASK_ID
    ready, record = tmp_path / "ready", tmp_path / "cancelled"
    os.mkfifo(ready)
    (tmp_path / "stopped_task_fake.py").write_text(_FAKE)
    env = {
        **os.environ,
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "STOPPED_TASK_READY": str(ready),
        "STOPPED_TASK_RECORD": str(record),
    }
    process = subprocess.Popen(
        [
            *_without_network(),
            sys.executable,
            "-c",
            _SUPERVISED_RUN,
            str(DAGS_FOLDER),
            str(tmp_path),
            dag_id,
            task_id,
            *_queued(dag_id, task_id),
            str(ESCALATION_S),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()

    def unblock_if_it_dies() -> None:  # so the test fails instead of waiting for ever
        process.wait()
        with open(ready, "w"):
            pass

    threading.Thread(target=unblock_if_it_dies, daemon=True).start()
    with open(ready) as fifo:
        waiting = fifo.readline()
    assert waiting == "waiting\n", "".join(output)[-4000:]

    with create_session() as session:  # what "Mark as failed" in the UI does to the row
        session.execute(
            update(TaskInstance)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id)
            .where(TaskInstance.state == "running")
            .values(state="failed")
        )
    # Like the API server's, this process's connections must not hold SQLite's lock while
    # the supervisor records the task's end.
    settings.Session.remove()
    settings.engine.dispose()
    process.wait(timeout=ESCALATION_S + 300)
    reader.join(10)
    log = "".join(output)

    assert record.is_file(), f"the query was not cancelled:\n{log[-4000:]}"
    assert "Server indicated the task shouldn't be running anymore" in log
    # It ended on SIGTERM, before the supervisor's escalation to SIGKILL (ESCALATION_S later).
    assert "signal_sent=SIGTERM" in log and "Process did not terminate in time" not in log


# -- a stop at any moment after submission (issue 16), in this process ----------------------

TARGET = "s3://bucket/curated/numbers/ds=2026-01-01/"


def sink_numbers() -> str:
    return compute.sink(pl.LazyFrame({"x": [1]}), TARGET, on=compute.Manifest("tests"))


class Store(dict):
    """A task_state_store (Airflow keeps it per task instance) that can run ``on_set``."""

    on_set = None

    def set(self, key, value, **_) -> None:
        self[key] = value
        if self.on_set is not None:
            self.on_set()


def stoppable(deferrable: bool = False):
    """A task run and the operator whose on_kill Airflow's SIGTERM handler calls."""
    from polars_cloud_provider.operators.polars_task import PolarsTaskOperator

    store = Store()
    task_run = execution.TaskRun(
        "d", "t", "r", try_number=1, series=1, store=store, deferrable=deferrable
    )
    operator = PolarsTaskOperator(task_id="t", python_callable=sink_numbers)
    operator._task_run = task_run
    return task_run, operator, store


@pytest.mark.parametrize("moment", ["during-submission", "while-recording-the-id"])
def test_a_stop_between_submission_and_the_wait_cancels_the_query(
    fake_cloud, cloud_connection, moment
) -> None:
    """Airflow's SIGTERM handler (on_kill) runs wherever the main thread is: here inside the
    submission (the query exists once it returns) or while its id is written to the
    task_state_store, before any wait began."""
    from polars_cloud_provider.hooks.polars_cloud import authenticate

    task_run, operator, store = stoppable()
    submitted = threading.Event()
    if moment == "during-submission":

        def submit(uri: str):
            submitted.set()
            operator.on_kill()  # the signal arrives while the submission returns
            return fake_cloud.query

        fake_cloud.plan.sink_parquet.side_effect = submit
    else:

        def recorded() -> None:
            submitted.set()
            store.on_set = None
            operator.on_kill()

        store.on_set = recorded

    with execution.running(task_run), pytest.raises(execution.TaskStopped):
        authenticate(sink_numbers)()

    assert submitted.is_set()
    fake_cloud.query.cancel.assert_called_once_with()
    fake_cloud.query.await_result.assert_not_called()


@pytest.mark.parametrize("deferrable", [False, True], ids=["the-wait", "the-first-wait"])
def test_a_status_call_that_hangs_does_not_hold_the_stop(
    fake_cloud, cloud_connection, monkeypatch, deferrable
) -> None:
    """polars-cloud's status call is native: run in the main thread, it holds Python's
    signal handlers until it returns, and Airflow's supervisor sends SIGKILL 5 s after
    SIGTERM. The handler must run while the call still hangs, and cancel the query."""
    from polars_cloud_provider.hooks.polars_cloud import authenticate

    monkeypatch.setenv(settings.env_var("defer_after_s"), "600")  # bounds a hang only
    task_run, operator, _ = stoppable(deferrable)
    asked, release, returned = threading.Event(), threading.Event(), threading.Event()
    stopped_while_hanging: list[bool] = []

    def hanging_status() -> pc.QueryStatus:
        # Native code runs no Python signal handler until it returns: blocked here, the
        # signal waits, as it does for a call into polars_cloud.abi3.so.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        try:
            asked.set()
            release.wait(60)  # bounds the hang of the code before this fix only
            returned.set()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
        return pc.QueryStatus.INPROGRESS

    def on_term(signum, frame) -> None:  # what Airflow's task runner does on SIGTERM
        stopped_while_hanging.append(not returned.is_set())
        operator.on_kill()

    main = threading.get_ident()

    def send_the_signal() -> None:
        if asked.wait(120):
            # SIGTERM's stand-in, for this test process; to the thread that runs handlers.
            signal.pthread_kill(main, signal.SIGUSR1)

    fake_cloud.query.get_status.side_effect = hanging_status
    previous = signal.signal(signal.SIGUSR1, on_term)
    try:
        threading.Thread(target=send_the_signal, daemon=True).start()
        with execution.running(task_run), pytest.raises(execution.TaskStopped):
            authenticate(sink_numbers)()
    finally:
        signal.signal(signal.SIGUSR1, previous)
        release.set()

    assert stopped_while_hanging == [True]
    fake_cloud.query.cancel.assert_called_once_with()


def test_an_execution_timeout_between_submission_and_the_wait_cancels_the_query(
    fake_cloud, cloud_connection
) -> None:
    """Airflow's execution timeout raises AirflowTaskTimeout (SIGALRM) wherever the main
    thread is, then calls on_kill: the query submitted just before is cancelled too."""
    from airflow.sdk.exceptions import AirflowTaskTimeout
    from polars_cloud_provider.hooks.polars_cloud import authenticate

    task_run, operator, store = stoppable()

    def timed_out() -> None:
        store.on_set = None
        raise AirflowTaskTimeout("Timeout, PID: 1")

    store.on_set = timed_out
    with execution.running(task_run), pytest.raises(AirflowTaskTimeout):
        authenticate(sink_numbers)()
    operator.on_kill()  # as the task runner does next (task_runner.py, _execute_task)

    fake_cloud.query.cancel.assert_called_once_with()
