"""@authenticate: reads the connection at run time, explains every way it can be wrong,
and never lets the secret reach a log.

Through a configured secrets backend, "not found" only when the backend answered that it has
no such secret; a backend that does not answer is a retried error naming it; any other answer
fails at once. (Each provider's own backend is tested against a local responder in its
``test_secrets_<backend>.py``; here a scripted backend plays every answer.)"""

from __future__ import annotations

import inspect
import json
import logging
import re
import threading

import pytest
from airflow.sdk.exceptions import AirflowFailException
from conftest import CONN_ID
from polars_cloud_provider import compute, settings
from polars_cloud_provider.engines import backend
from polars_cloud_provider.hooks.polars_cloud import (
    MARKER,
    VALID_EXTRAS,
    ConnectionProblem,
    PolarsCloudHook,
    authenticate,
)
from polars_cloud_provider.hooks.secrets_lookup import SecretsBackendUnavailable


@authenticate
def active_backend_name(ds: str | None = None) -> str:
    return backend.active().name


def test_authenticates_with_the_service_account_then_runs_the_task(
    fake_cloud, cloud_connection
) -> None:
    assert active_backend_name() == "cloud"
    fake_cloud.authenticate.assert_called_once_with(
        client_id=cloud_connection["login"],
        client_secret=cloud_connection["password"],
        interactive=False,
    )


def test_the_backend_is_only_active_inside_the_task(fake_cloud, cloud_connection) -> None:
    active_backend_name()
    with pytest.raises(compute.NotAuthenticated, match="@authenticate"):
        backend.active()


def test_keeps_the_signature_airflow_inspects_and_marks_the_task() -> None:
    assert list(inspect.signature(active_backend_name).parameters) == ["ds"]
    assert getattr(active_backend_name, MARKER) is True


def test_missing_connection_says_which_and_how_to_create_it(fake_cloud, monkeypatch) -> None:
    conn_id = CONN_ID
    monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id.upper()}", raising=False)
    with pytest.raises(ConnectionProblem) as caught:
        active_backend_name()
    message = str(caught.value)
    assert repr(conn_id) in message
    assert "Admin > Connections" in message
    assert f"AIRFLOW_CONN_{conn_id.upper()}=" in message
    fake_cloud.authenticate.assert_not_called()


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"password": "only-a-secret"}, "login (client id)"),  # pragma: allowlist secret
        ({"login": "only-an-id"}, "password (client secret)"),
        ({}, "login (client id) and no password (client secret)"),
    ],
    ids=["no-login", "no-password", "neither"],
)
def test_missing_credentials_are_named(
    fake_cloud, polars_cloud_connection, fields, missing
) -> None:
    conn_id = polars_cloud_connection(**fields)
    with pytest.raises(ConnectionProblem, match=re.escape(f"{conn_id!r} has no {missing}")):
        active_backend_name()
    fake_cloud.authenticate.assert_not_called()


def test_connection_problems_do_not_burn_retries() -> None:
    assert issubclass(ConnectionProblem, AirflowFailException)


def test_unknown_backend_in_the_extra_is_refused(fake_cloud, polars_cloud_connection) -> None:
    polars_cloud_connection(
        login="id",
        password="secret",  # pragma: allowlist secret
        extra={"backend": "gpu-farm"},
    )
    with pytest.raises(ConnectionProblem, match="gpu-farm"):
        active_backend_name()


def test_rejected_credentials_fail_without_echoing_the_secret(fake_cloud, cloud_connection) -> None:
    secret = cloud_connection["password"]
    fake_cloud.authenticate.side_effect = RuntimeError(f"invalid client secret {secret}")
    with pytest.raises(compute.ComputeError, match="did not accept") as caught:
        active_backend_name()
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_secret_never_reaches_the_logs(fake_cloud, cloud_connection, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    active_backend_name()
    fake_cloud.authenticate.side_effect = RuntimeError("rejected")
    with pytest.raises(compute.ComputeError):
        active_backend_name()
    captured = capsys.readouterr()
    everything = caplog.text + captured.out + captured.err
    assert "cloud compute backend" in caplog.text  # the log was captured at all
    assert cloud_connection["password"] not in everything


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('{"backend": "local"', "is not valid JSON"),
        ("backend=local", "is not valid JSON"),
        ('["local"]', "is a JSON array, not an object"),
        ('"local"', "is a JSON string, not an object"),
        ('{"backend": 1}', "'backend' is a JSON number, not a string"),
        ('{"workspace": ["a", "b"]}', "'workspace' is a JSON array, not a string"),
        ('{"local_root": false}', "'local_root' is a JSON boolean, not a string"),
        ('{"backend": ""}', "'backend' is empty"),
        ('{"workspace": "  "}', "'workspace' is empty"),
        ('{"Backend": "local"}', "unknown key 'Backend'"),
        ('{"region": "eu-west-1"}', "unknown key 'region'"),
        ('{"extra__polars_cloud__region": "eu"}', "unknown key 'region'"),
    ],
    ids=[
        "truncated",
        "not-json",
        "array",
        "string",
        "number",
        "workspace-array",
        "local-root-boolean",
        "empty",
        "blank-workspace",
        "misspelt-key",
        "unknown-key",
        "unknown-prefixed-key",
    ],
)
def test_an_unreadable_extra_fails_at_once_and_never_reaches_the_cloud(
    fake_cloud, polars_cloud_connection, extra, problem
) -> None:
    conn_id = polars_cloud_connection(
        login="id",
        password="secret",  # pragma: allowlist secret
        extra=extra,
    )
    with pytest.raises(ConnectionProblem) as caught:
        active_backend_name()
    message = str(caught.value)
    assert repr(conn_id) in message
    assert problem in message
    assert VALID_EXTRAS in message  # valid examples, for the cloud and for the local engine
    assert '{"backend": "local"}' in VALID_EXTRAS and '"workspace": "<name>"' in VALID_EXTRAS
    fake_cloud.authenticate.assert_not_called()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (None, "cloud"),
        ("", "cloud"),
        ("{}", "cloud"),
        ('{"backend": "cloud"}', "cloud"),
        ('{"backend": " Local "}', "local"),
        # What the connection form stores for fields left empty:
        ('{"backend": null, "workspace": null, "local_root": null}', "cloud"),
        ('{"extra__polars_cloud__backend": "local"}', "local"),
    ],
    ids=["no-extra", "empty-text", "empty-object", "cloud", "local-any-case", "nulls", "prefixed"],
)
def test_a_readable_extra_chooses_its_backend(
    fake_cloud, polars_cloud_connection, extra, expected
) -> None:
    fields = {"login": "id", "password": "secret"}  # pragma: allowlist secret
    polars_cloud_connection(**fields, **({} if extra is None else {"extra": extra}))
    assert active_backend_name() == expected


def test_the_secrets_backend_answer_comes_before_the_environment(
    scripted_backend, local_connection
) -> None:
    scripted_backend.answer = json.dumps({"conn_type": "http", "extra": {"backend": "cloud"}})
    with pytest.raises(ConnectionProblem, match="no login"):  # the backend's, not the env's
        active_backend_name()


def test_without_the_secret_in_the_backend_the_environment_is_the_fallback(
    scripted_backend, monkeypatch, local_connection
) -> None:
    scripted_backend.answer = None
    assert active_backend_name() == "local"  # from AIRFLOW_CONN_*, as Airflow's chain does


def test_not_found_only_when_the_secrets_backend_answered_it_has_none(scripted_backend) -> None:
    scripted_backend.answer = None
    with pytest.raises(ConnectionProblem, match="was not found"):
        active_backend_name()


def test_a_secrets_backend_that_does_not_answer_is_retried_within_the_deadline(
    scripted_backend, monkeypatch
) -> None:
    monkeypatch.setenv(settings.env_var("secrets_backend_timeout_s"), "0.2")
    scripted_backend.hold = threading.Event()  # released at teardown
    with pytest.raises(SecretsBackendUnavailable) as caught:
        active_backend_name()
    assert not isinstance(caught.value, AirflowFailException)  # Airflow retries it
    message = str(caught.value)
    assert "secrets backend Scripted" in message
    assert "did not answer within 0.2 s" in message
    assert "was not found" not in message


@pytest.mark.parametrize(
    "error",
    [ConnectionRefusedError(111, "Connection refused"), TimeoutError("timed out")],
    ids=["refused", "timed-out"],
)
def test_a_secrets_backend_that_cannot_be_reached_is_retried(scripted_backend, error) -> None:
    scripted_backend.answer = error
    with pytest.raises(SecretsBackendUnavailable, match="could not be reached") as caught:
        active_backend_name()
    assert not isinstance(caught.value, AirflowFailException)
    assert type(error).__name__ in str(caught.value)


def test_any_other_error_from_the_secrets_backend_fails_at_once(scripted_backend) -> None:
    class AccessDenied(Exception):
        pass

    scripted_backend.answer = AccessDenied("not allowed to read airflow/connections/x")
    with pytest.raises(ConnectionProblem, match="AccessDenied: not allowed") as caught:
        active_backend_name()
    assert "secrets backend Scripted" in str(caught.value)


def test_the_secret_from_the_secrets_backend_is_masked_in_logs(
    scripted_backend, fake_cloud
) -> None:
    from airflow.sdk.log import redact

    secret = "client-secret-from-the-backend-9876"  # pragma: allowlist secret
    scripted_backend.answer = json.dumps({"conn_type": "http", "login": "id", "password": secret})
    assert active_backend_name() == "cloud"
    assert secret not in str(redact(f"the secret is {secret}"))


# PolarsCloudHook: what ``get_conn`` returns, the connection's extras, the UI's Test button.


def test_the_hook_returns_the_connections_engine_logged_in(fake_cloud, cloud_connection) -> None:
    chosen = PolarsCloudHook().get_conn()
    assert (chosen.name, chosen.workspace, chosen.local_root) == ("cloud", "tests", None)
    fake_cloud.authenticate.assert_called_once_with(
        client_id=cloud_connection["login"],
        client_secret=cloud_connection["password"],
        interactive=False,
    )
    with pytest.raises(compute.NotAuthenticated):
        backend.active()  # get_conn alone activates nothing


def test_the_hook_reads_the_connection_its_conn_id_names(fake_cloud, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ANOTHER_POLARS",
        json.dumps(
            {
                "conn_type": "polars_cloud",
                "login": "other-id",
                "password": "other-secret",  # pragma: allowlist secret
            }
        ),
    )
    hook = PolarsCloudHook(polars_cloud_conn_id="another_polars")
    with hook.activated() as chosen:
        assert backend.active() is chosen
    with pytest.raises(compute.NotAuthenticated):
        backend.active()
    assert fake_cloud.authenticate.call_args.kwargs["client_id"] == "other-id"
    assert chosen.workspace is None  # none in this connection: the cluster must name one


def test_the_hook_is_the_one_airflow_lists_for_the_connection_type() -> None:
    from polars_cloud_provider.get_provider_info import get_provider_info

    [declared] = get_provider_info()["connection-types"]
    assert declared["connection-type"] == PolarsCloudHook.conn_type == "polars_cloud"
    hook_class = declared["hook-class-name"]
    assert hook_class == f"{PolarsCloudHook.__module__}.{PolarsCloudHook.__qualname__}"
    assert PolarsCloudHook.default_conn_name == CONN_ID == settings.DEFAULT_CONN_ID
    assert PolarsCloudHook().polars_cloud_conn_id == CONN_ID
    assert set(declared["conn-fields"]) == {"backend", "workspace", "local_root"}


@pytest.mark.parametrize(
    ("extra", "workspace", "local_root"),
    [
        ({"workspace": "analytics"}, "analytics", None),
        ({"workspace": " analytics "}, "analytics", None),
        # The connection form stores its fields with the prefix:
        ({"extra__polars_cloud__workspace": "analytics"}, "analytics", None),
        (
            {"backend": "local", "extra__polars_cloud__local_root": "s3://bucket/tmp"},
            None,
            "s3://bucket/tmp",
        ),
        ({"backend": "local", "workspace": "w", "local_root": "/data/x"}, "w", "/data/x"),
    ],
    ids=["workspace", "stripped", "prefixed-workspace", "prefixed-local-root", "both"],
)
def test_the_workspace_and_local_root_extras_reach_the_engine(
    fake_cloud, polars_cloud_connection, extra, workspace, local_root
) -> None:
    polars_cloud_connection(login="id", password="secret", extra=extra)  # pragma: allowlist secret
    chosen = PolarsCloudHook().get_conn()
    assert (chosen.workspace, chosen.local_root) == (workspace, local_root)


def test_the_local_root_extra_is_where_the_local_engine_writes(
    polars_cloud_connection, local_connection, tmp_path
) -> None:
    import polars as pl

    polars_cloud_connection(extra={"backend": "local", "local_root": str(tmp_path / "extra")})
    with PolarsCloudHook().activated():
        [location] = compute.execute(pl.LazyFrame({"a": [1]}), on=compute.Specs(1, 1))
    assert location.startswith(str(tmp_path / "extra"))  # not the setting's folder
    assert not local_connection.exists()
    assert pl.read_parquet(location)["a"].to_list() == [1]


def test_the_test_button_logs_in_with_the_service_account(fake_cloud, cloud_connection) -> None:
    assert PolarsCloudHook().test_connection() == (
        True,
        "Authenticated: the cloud backend is ready.",
    )
    fake_cloud.authenticate.assert_called_once()


def test_the_test_button_accepts_the_local_engine_without_a_secret(local_connection) -> None:
    assert PolarsCloudHook().test_connection() == (
        True,
        "Authenticated: the local backend is ready.",
    )


def test_the_test_button_says_why_without_echoing_the_secret(fake_cloud, cloud_connection) -> None:
    secret = cloud_connection["password"]
    fake_cloud.authenticate.side_effect = RuntimeError(f"401 invalid_client {secret}")
    ok, message = PolarsCloudHook().test_connection()
    assert not ok
    assert "did not accept the service account" in message and "invalid_client ***" in message
    assert secret not in message


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (None, "was not found"),
        ({"login": "id"}, "has no password (client secret)"),
        ({"extra": {"workspaces": "w"}}, "unknown key 'workspaces'"),
    ],
    ids=["missing", "no-secret", "unknown-extra"],
)
def test_the_test_button_names_what_is_wrong_with_the_connection(
    fake_cloud, polars_cloud_connection, monkeypatch, fields, problem
) -> None:
    if fields is None:
        monkeypatch.delenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", raising=False)
    else:
        polars_cloud_connection(**fields)
    ok, message = PolarsCloudHook().test_connection()
    assert not ok and problem in message and repr(CONN_ID) in message
    fake_cloud.authenticate.assert_not_called()


def test_the_hook_imports_as_airflows_providers_manager_imports_it(tmp_path) -> None:
    """A fresh process (the webserver listing connection types, a worker) imports the hook by
    the class path the provider declares, before anything else of the provider."""
    import os
    import subprocess
    import sys

    script = (
        "from airflow.sdk.module_loading import import_string\n"
        "from polars_cloud_provider.get_provider_info import get_provider_info\n"
        "[declared] = get_provider_info()['connection-types']\n"
        "hook = import_string(declared['hook-class-name'])\n"
        "print(hook.conn_type)\n"
    )
    airflow = ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__LOAD_EXAMPLES")
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", **{name: os.environ[name] for name in airflow}},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["polars_cloud"]
