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
from polars_cloud_provider import compute, settings
from polars_cloud_provider.engines import backend
from polars_cloud_provider.hooks.polars_cloud import MARKER, ConnectionProblem, authenticate
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
    conn_id = settings.load().conn_id
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


VALID_EXTRAS = '{"backend": "cloud"}'


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('{"backend": "local"', "is not valid JSON"),
        ("backend=local", "is not valid JSON"),
        ('["local"]', "is a JSON array, not an object"),
        ('"local"', "is a JSON string, not an object"),
        ('{"backend": 1}', "'backend' is a JSON number, not a string"),
        ('{"backend": null}', "'backend' is a JSON null, not a string"),
        ('{"backend": ""}', "'backend' is empty"),
        ('{"Backend": "local"}', "unknown key 'Backend'"),
    ],
    ids=["truncated", "not-json", "array", "string", "number", "null", "empty", "misspelt-key"],
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
    assert '{"backend": "local"}' in message and VALID_EXTRAS in message  # a valid example
    fake_cloud.authenticate.assert_not_called()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (None, "cloud"),
        ("", "cloud"),
        ("{}", "cloud"),
        (VALID_EXTRAS, "cloud"),
        ('{"backend": " Local "}', "local"),
    ],
    ids=["no-extra", "empty-text", "empty-object", "cloud", "local-any-case"],
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
