"""``@authenticate``: give a task access to Polars Cloud with the service account stored in
an Airflow connection.

Use it under ``@task()``::

    @task()
    @authenticate
    def my_query(): ...

The connection (id from the settings, ``{{ cookiecutter.polars_cloud_conn_id }}`` by default) is
read when the task runs, never at parse time, through Airflow's normal lookup order: the
secrets backend, then ``AIRFLOW_CONN_*`` variables, then the metadata database. Its extra
``{"backend": "local"}`` runs the task's queries in-process instead, with no secret needed.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from {{ cookiecutter.package_name }} import secrets_lookup, settings
from {{ cookiecutter.package_name }}.compute import backend

P = ParamSpec("P")
R = TypeVar("R")

MARKER = "__authenticates_polars_cloud__"
"""Attribute set on decorated callables; the DAG integrity tests look for it."""

log = logging.getLogger(__name__)

VALID_EXTRAS = '{"backend": "cloud"} (Polars Cloud, the default) or {"backend": "local"}'


class ConnectionProblem(AirflowFailException):
    """The Polars Cloud connection is missing or incomplete.

    Fails the task without retries: retrying cannot fix configuration.
    """


def how_to_create(conn_id: str) -> str:
    """The fix, spelled out, for error messages about the connection."""
    example = json.dumps(
        {"conn_type": "http", "login": "<client id>", "password": "<client secret>"}
    )
    return (
        f"Define it in the Airflow UI (Admin > Connections: Connection Id '{conn_id}', "
        "type HTTP, Login = service account client id, Password = client secret), or set "
        f"AIRFLOW_CONN_{conn_id.upper()}='{example}' for the scheduler and workers, or store "
        "it in your secrets backend (see the README). To run without Polars Cloud, give the "
        'connection the extra {"backend": "local"}.'
    )


def authenticate(fn: Callable[P, R]) -> Callable[P, R]:
    """Authenticate with the configured connection, then run ``fn`` with compute available."""

    @functools.wraps(fn)
    def authenticated(*args: P.args, **kwargs: P.kwargs) -> R:
        conn_id = settings.load().conn_id
        chosen = connected(_get_connection(conn_id), conn_id)
        log.info("Using connection %r with the %s compute backend", conn_id, chosen.name)
        with backend.activated(chosen):
            return fn(*args, **kwargs)

    setattr(authenticated, MARKER, True)
    return authenticated


def connected(connection: Any, conn_id: str) -> backend.Backend:
    """The backend ``connection`` selects, authenticated (tasks and the triggerer use it)."""
    chosen = _backend_for(connection, conn_id)
    if chosen.name != "local":
        _require_credentials(connection, conn_id)
    chosen.authenticate(conn_id, connection.login, connection.password)
    return chosen


def _get_connection(conn_id: str) -> Any:
    """The connection from the secrets backend, else from Airflow's usual lookup.

    A backend that does not answer raises ``SecretsBackendUnavailable`` (retried); "not
    found" only when the backend answered that it has no such secret.
    """
    try:
        connection = secrets_lookup.lookup(conn_id, settings.load().secrets_backend_timeout_s)
    except secrets_lookup.SecretsBackendRefused as error:
        raise ConnectionProblem(
            f"Airflow connection {conn_id!r} for Polars Cloud: {error} Check that the "
            "backend's credentials may read the secret (docs/connection.md)."
        ) from None
    if connection is not None:
        return connection
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ConnectionProblem(
            f"Airflow connection {conn_id!r} for Polars Cloud was not found. "
            + how_to_create(conn_id)
        ) from None


def _backend_for(connection: Any, conn_id: str) -> backend.Backend:
    try:
        return backend.select(_backend_name(connection.extra))
    except ValueError as error:
        raise ConnectionProblem(
            f"Airflow connection {conn_id!r}: {error}. Give it the extra {VALID_EXTRAS}."
        ) from None


def _backend_name(raw_extra: str | None) -> str | None:
    """The extra's ``backend`` (``None``: no extra, the cloud), read from the raw text.

    Airflow's ``extra_dejson`` turns unreadable JSON into ``{}``, which would mean the cloud:
    an extra that cannot be read must stop the task instead of sending the service account
    to Polars Cloud. Raises ``ValueError`` saying what is wrong, never echoing the extra.
    """
    if raw_extra is None or not raw_extra.strip():
        return None
    try:
        extra = json.loads(raw_extra)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"its extra is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(extra, dict):
        raise ValueError(f"its extra is a JSON {_json_type(extra)}, not an object")
    unknown = sorted(set(extra) - {"backend"})
    if unknown:
        raise ValueError(f"its extra has the unknown key {', '.join(map(repr, unknown))}")
    name = extra.get("backend")
    if name is None and "backend" not in extra:
        return None
    if not isinstance(name, str):
        raise ValueError(f"its extra's 'backend' is a JSON {_json_type(name)}, not a string")
    if not name.strip():
        raise ValueError("its extra's 'backend' is empty")
    return name


def _json_type(value: object) -> str:
    for python_type, name in ((bool, "boolean"), (int, "number"), (float, "number")):
        if isinstance(value, python_type):
            return name
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")


def _require_credentials(connection: Any, conn_id: str) -> None:
    missing = [
        field
        for field, value in (
            ("login (client id)", connection.login),
            ("password (client secret)", connection.password),
        )
        if not value
    ]
    if missing:
        raise ConnectionProblem(
            f"Airflow connection {conn_id!r} has no {' and no '.join(missing)}. "
            + how_to_create(conn_id)
        )


def service_account(conn_id: str) -> tuple[str, str]:
    """The client id and secret stored in connection ``conn_id``, for code outside a task.

    Found the way a task finds it (secrets backend, then ``AIRFLOW_CONN_*``); raises
    ``ConnectionProblem`` naming what is missing.
    """
    connection = _get_connection(conn_id)
    _require_credentials(connection, conn_id)
    return connection.login, connection.password
