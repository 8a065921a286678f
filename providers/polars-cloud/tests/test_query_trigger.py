"""The trigger a deferred @polars_task waits on: importable as Airflow's triggerer imports it,
and what it reports (Polars Cloud played by the autospec fake)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import polars_cloud as pc
import pytest
from conftest import CONN_ID
from polars_cloud_provider import settings
from polars_cloud_provider.triggers import query as trigger_module
from polars_cloud_provider.triggers.query import QueryTrigger


@pytest.fixture
def reference(fake_cloud) -> dict:
    return {
        "backend": "cloud",
        "query_id": fake_cloud.query_id,
        "workspace_id": fake_cloud.workspace_id,
        "compute_id": fake_cloud.compute_id,
    }


def make(reference: dict, deadline: float | None = None, conn_id: str = CONN_ID) -> QueryTrigger:
    return QueryTrigger(
        record={
            "kind": "sink",
            "target": "s3://b/t/",
            "reference": reference,
            "deadline": deadline,
        },
        conn_id=conn_id,
        timeout_s=None if deadline is None else 0.2,
    )


def first_event(trigger: QueryTrigger) -> dict:
    async def first():
        return await anext(trigger.run())

    return asyncio.run(first()).payload


_AS_THE_TRIGGERER = """
import json, sys
from airflow.sdk.module_loading import import_string  # what the triggerer calls

classpath, kwargs = json.loads(sys.argv[1])
trigger = import_string(classpath)(**kwargs)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("polars", "polars_cloud"))
print(json.dumps({"serialized": trigger.serialize(), "heavy": heavy}))
"""


def frozen_clock(monkeypatch) -> list[float]:
    """The trigger's clock stopped at 1000.0 and its sleeps recorded, not slept."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(trigger_module.asyncio, "sleep", sleep)
    monkeypatch.setattr(trigger_module.time, "time", lambda: 1000.0)
    return slept


def test_the_trigger_imports_as_a_deployed_triggerer_imports_it(reference, tmp_path) -> None:
    """The triggerer is another process: it imports the trigger by its dotted path from the
    installed provider, with no DAGs folder on its path and nothing of a project loaded."""
    classpath, kwargs = make(reference).serialize()
    assert classpath == "polars_cloud_provider.triggers.query.QueryTrigger"
    airflow = ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__LOAD_EXAMPLES")
    environment = {
        "PATH": "/usr/bin:/bin",
        **{name: os.environ[name] for name in airflow},
    }
    out = subprocess.run(
        [sys.executable, "-c", _AS_THE_TRIGGERER, json.dumps([classpath, kwargs])],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["serialized"] == [classpath, kwargs]
    assert seen["heavy"] == [], "the trigger's import pulls polars into the triggerer"


def test_the_provider_declares_the_triggers_module_to_airflow() -> None:
    """Airflow's providers manager lists the triggers of each installed provider from its
    ``apache_airflow_provider`` entry point: the serialized class path must be one of them."""
    from importlib.metadata import entry_points

    [entry] = [
        e
        for e in entry_points(group="apache_airflow_provider")
        if e.value.startswith("polars_cloud_provider.")
    ]
    info = entry.load()()
    modules = [m for t in info["triggers"] for m in t["python-modules"]]
    classpath, _ = make({"backend": "cloud", "query_id": "x"}).serialize()
    assert classpath.rpartition(".")[0] in modules


def test_the_triggerer_logs_in_with_the_connection_the_task_named(
    fake_cloud, cloud_connection, reference, monkeypatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_TEAM_POLARS",
        json.dumps(
            {
                "conn_type": "polars_cloud",
                "login": "team-id",
                "password": "team-secret",  # pragma: allowlist secret
            }
        ),
    )
    trigger = make(reference, conn_id="team_polars")
    assert trigger.serialize()[1]["conn_id"] == "team_polars"
    assert first_event(trigger)["status"] == "SUCCESS"
    fake_cloud.authenticate.assert_called_once_with(
        client_id="team-id", client_secret="team-secret", interactive=False
    )


def test_a_finished_query_fires_one_event_with_the_record(
    fake_cloud, cloud_connection, reference
) -> None:
    fake_cloud.running(polls=2)
    trigger = make(reference)
    event = first_event(trigger)
    assert event == {"state": "done", "status": "SUCCESS", "record": trigger.record}
    assert event["record"]["reference"] == reference
    assert fake_cloud.query.get_status.call_count == 3
    fake_cloud.authenticate.assert_called_once()  # the triggerer logs in with the connection


@pytest.mark.parametrize(
    ("trigger_id", "waits"), [(7, [10.0]), (None, [])], ids=["triggerer", "dag-test"]
)
def test_a_real_triggerer_fires_no_sooner_than_resume_after(
    fake_cloud, cloud_connection, reference, monkeypatch, trigger_id, waits
) -> None:
    """A query done at once still resumes its task resume_settle_s after the deferral, so
    that Airflow's scheduler has seen the worker's deferral exit (trigger.py says why)."""
    slept = frozen_clock(monkeypatch)
    trigger = make(reference)
    trigger.resume_after, trigger.trigger_id = 1010.0, trigger_id
    assert trigger.serialize()[1]["resume_after"] == 1010.0

    assert first_event(trigger)["status"] == "SUCCESS"
    assert slept == waits


def test_the_settle_time_can_be_zero_and_nothing_that_is_not_a_duration(monkeypatch) -> None:
    field = settings.env_var("resume_settle_s")
    monkeypatch.setenv(field, "0")
    assert settings.load().resume_settle_s == 0
    for bad in ("-1", "soon", "", "inf"):
        monkeypatch.setenv(field, bad)
        with pytest.raises(settings.SettingsError, match=f"{field}=.*expected a number >= 0"):
            settings.load()


def test_a_query_past_its_deadline_fires_a_timeout(fake_cloud, cloud_connection, reference) -> None:
    fake_cloud.running()
    event = first_event(make(reference, deadline=time.time() + 0.2))
    assert (event["state"], event["timeout_s"]) == ("timeout", 0.2)
    fake_cloud.query.cancel.assert_not_called()  # the resumed task cancels, then fails


def test_polling_that_keeps_failing_hands_back_to_the_task(
    fake_cloud, cloud_connection, reference, monkeypatch
) -> None:
    monkeypatch.setattr(trigger_module, "MAX_POLL_ERRORS", 2)
    fake_cloud.query.get_status.side_effect = ConnectionError("control plane unreachable")
    event = first_event(make(reference))
    assert event["state"] == "error" and "unreachable" in event["message"]


def test_a_user_killing_the_deferred_task_cancels_the_query(
    fake_cloud, cloud_connection, reference
) -> None:
    """Airflow 3.3 calls the trigger's on_kill when a user marks the deferred task failed or
    successful, or clears it (triggerer_job_runner.py), not when the triggerer restarts."""
    asyncio.run(make(reference).on_kill())
    fake_cloud.query.cancel.assert_called_once_with()


def test_an_unknown_query_is_reported_done_for_the_task_to_decide(
    fake_cloud, cloud_connection
) -> None:
    event = first_event(make({"backend": "cloud", "query_id": "not-a-uuid"}))
    assert (event["state"], event["status"]) == ("done", "UNKNOWN")
    assert pc.QueryStatus.SUCCESS.name == "SUCCESS"  # the names the trigger reports


def test_a_trigger_that_fails_cancels_its_query(
    fake_cloud, cloud_connection, reference, monkeypatch
) -> None:
    """Airflow fails the deferred task when its trigger raises (Trigger.submit_failure), and
    nothing watches the query any more: the trigger cancels it before it fails."""

    def broken_delays(chosen):
        yield 0.0
        raise RuntimeError("the trigger itself broke")

    fake_cloud.running()
    monkeypatch.setattr(trigger_module, "poll_delays", broken_delays)
    with pytest.raises(RuntimeError, match="the trigger itself broke"):
        first_event(make(reference))
    fake_cloud.query.cancel.assert_called_once_with()


def test_a_trigger_stopped_by_the_triggerer_leaves_its_query_running(
    fake_cloud, cloud_connection, reference
) -> None:
    """A triggerer that stops (or hands the trigger to another) cancels the trigger's task:
    that is no failure, and the query goes on for the next triggerer to watch."""
    fake_cloud.running()

    async def cancelled_while_polling() -> None:
        task = asyncio.ensure_future(anext(make(reference).run()))
        while fake_cloud.query.get_status.call_count == 0:
            await asyncio.sleep(0)  # yields to the trigger until it has polled once
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_while_polling())
    fake_cloud.query.cancel.assert_not_called()


def test_a_query_done_after_the_hold_fires_its_event_at_once(
    fake_cloud, cloud_connection, reference, monkeypatch
) -> None:
    """Deferred queries ran at least defer_after_s on the worker; one that ends later than
    resume_settle_s after the deferral resumes its task on the poll that sees it done."""
    slept = frozen_clock(monkeypatch)
    trigger = make(reference)
    trigger.resume_after, trigger.trigger_id = 990.0, 7  # deferred 10 s + ago, in a triggerer
    assert first_event(trigger)["status"] == "SUCCESS"
    assert slept == []


def test_a_trigger_deferred_by_0_1_0_runs_after_an_upgrade(
    fake_cloud, cloud_connection, reference
) -> None:
    """A trigger row written by provider 0.1.0 (its journal and the step it waits for) is
    built by the upgraded triggerer with those arguments, and reports the step's record."""
    step = {"kind": "sink", "target": "s3://b/t/", "reference": reference, "deadline": None}
    trigger = QueryTrigger(
        reference=reference,
        conn_id=CONN_ID,
        step=0,
        deadline=None,
        timeout_s=None,
        journal=[step],
        resume_after=None,
    )
    assert first_event(trigger) == {"state": "done", "status": "SUCCESS", "record": step}
    assert trigger.serialize()[1]["record"] == step
