"""The ``polars_cloud`` connection (``PolarsCloudHook``): a service account (login: client id,
password: client secret) and, in its extra, the ``workspace`` and the ``backend``: ``cloud`` (the
default) or ``local`` (in-process Polars, no secret). Why it is read as it is, and when:
docs/design-connection.md. Its form is declared in ``get_provider_info``."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from polars_cloud_provider import settings
from polars_cloud_provider.engines import backend
from polars_cloud_provider.hooks import secrets_lookup
from polars_cloud_provider.hooks.secrets_lookup import ConnectionProblem

log = logging.getLogger(__name__)

CONN_TYPE = "polars_cloud"
MARKER = "__authenticates_polars_cloud__"  # set by ``authenticate``: DAG tests see who logs in
EXTRA_KEYS = ("backend", "workspace", "local_root")
VALID_EXTRAS = (
    '{"backend": "cloud", "workspace": "<name>"} (Polars Cloud, the default) or '
    '{"backend": "local"}'
)
JSON_TYPES = {bool: "boolean", int: "number", float: "number", dict: "object", list: "array"}


class PolarsCloudHook(BaseHook):
    """``get_conn()``: the engine the connection selects, logged in; ``activated()``: the same,
    active for the ``compute`` helpers inside the block."""

    conn_name_attr = "polars_cloud_conn_id"
    default_conn_name = settings.DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Polars Cloud"

    def __init__(self, polars_cloud_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.polars_cloud_conn_id = polars_cloud_conn_id

    def get_conn(self) -> backend.Backend:
        conn_id = self.polars_cloud_conn_id
        chosen = connected(_get_connection(conn_id), conn_id)
        log.info("Using connection %r with the %s compute backend", conn_id, chosen.name)
        return chosen

    def activated(self) -> AbstractContextManager[backend.Backend]:
        return backend.activated(self.get_conn())

    def test_connection(self) -> tuple[bool, str]:
        """The UI's "Test" button: log in with the service account (or pick the local engine)."""
        try:
            chosen = self.get_conn()
        except Exception as error:
            return False, str(error)
        return True, f"Authenticated: the {chosen.name} backend is ready."


def how_to_create(conn_id: str) -> str:
    """The fix, spelled out, for error messages about the connection."""
    account = {"login": "<client id>", "password": "<client secret>"}
    example = {"conn_type": CONN_TYPE, **account, "extra": {"workspace": "<workspace>"}}
    return (
        f"Define it in the Airflow UI (Admin > Connections: Connection Id '{conn_id}', "
        "type Polars Cloud, Client ID and Client secret of the service account, Workspace), "
        f"or set AIRFLOW_CONN_{conn_id.upper()}='{json.dumps(example)}' for the scheduler and "
        "workers, or store it in your secrets backend. To run without Polars Cloud, give the "
        'connection the extra {"backend": "local"}.'
    )


def authenticate(
    fn: Callable[..., Any] | None = None, *, conn_id: str = settings.DEFAULT_CONN_ID
) -> Any:
    """For a plain ``@task`` (``@polars_task`` does it itself): run ``fn`` with the connection's
    engine active. ``@authenticate`` or ``@authenticate(conn_id=...)``."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def authenticated(*args: Any, **kwargs: Any) -> Any:
            with PolarsCloudHook(conn_id).activated():
                return function(*args, **kwargs)

        setattr(authenticated, MARKER, True)
        return authenticated

    return decorate(fn) if fn is not None else decorate


def connected(connection: Any, conn_id: str) -> backend.Backend:
    """The backend ``connection`` selects, authenticated (tasks and the triggerer use it)."""
    try:
        extra = _extra(connection.extra)
        chosen = backend.select(extra["backend"])
        chosen.workspace = extra["workspace"]
        chosen.local_root = extra["local_root"]
    except ValueError as error:
        raise ConnectionProblem(
            f"Airflow connection {conn_id!r}: {error}. Give it the extra {VALID_EXTRAS}."
        ) from None
    if chosen.name != "local":
        _require_credentials(connection, conn_id)
    chosen.conn_id = conn_id
    chosen.authenticate(conn_id, connection.login, connection.password)
    return chosen


def service_account(conn_id: str) -> tuple[str, str]:
    """The client id and secret of connection ``conn_id``, found as a task finds them."""
    connection = _get_connection(conn_id)
    _require_credentials(connection, conn_id)
    return connection.login, connection.password


def _get_connection(conn_id: str) -> Any:
    """The connection from the secrets backend, else from Airflow's usual lookup."""
    connection = secrets_lookup.lookup(conn_id, settings.load().secrets_backend_timeout_s)
    if connection is not None:
        return connection
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ConnectionProblem(
            f"Airflow connection {conn_id!r} for Polars Cloud was not found. "
            + how_to_create(conn_id)
        ) from None


def _extra(raw_extra: str | None) -> dict[str, str | None]:
    """Each of ``EXTRA_KEYS``: a non-empty string, or None when absent (or null); else a
    ``ValueError`` that never echoes the extra. Not ``extra_dejson``: docs/design-connection.md."""
    try:
        extra = json.loads(raw_extra) if raw_extra and raw_extra.strip() else {}
    except json.JSONDecodeError as error:
        raise ValueError(f"its extra is not valid JSON ({error})") from None  # no text of it
    if not isinstance(extra, dict):
        raise ValueError(f"its extra is a JSON {_json_type(extra)}, not an object")
    extra = {key.removeprefix(f"extra__{CONN_TYPE}__"): value for key, value in extra.items()}
    if unknown := sorted(set(extra) - set(EXTRA_KEYS)):
        raise ValueError(f"its extra has the unknown key {', '.join(map(repr, unknown))}")
    for key, value in extra.items():
        if value is not None and not isinstance(value, str):
            raise ValueError(f"its extra's {key!r} is a JSON {_json_type(value)}, not a string")
        if value is not None and not value.strip():
            raise ValueError(f"its extra's {key!r} is empty")
    return {key: extra[key].strip() if extra.get(key) else None for key in EXTRA_KEYS}


def _json_type(value: object) -> str:
    return "string" if isinstance(value, str) else JSON_TYPES.get(type(value), "null")


def _require_credentials(connection: Any, conn_id: str) -> None:
    fields = {
        "login (client id)": connection.login,
        "password (client secret)": connection.password,
    }
    if missing := [field for field, value in fields.items() if not value]:
        raise ConnectionProblem(
            f"Airflow connection {conn_id!r} has no {' and no '.join(missing)}. "
            + how_to_create(conn_id)
        )
