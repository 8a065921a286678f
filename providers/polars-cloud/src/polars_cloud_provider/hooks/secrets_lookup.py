"""Ask the deployment's secrets backend for a connection within a deadline, telling "it did not
answer" (``SecretsBackendUnavailable``, retried) from "no such secret" (``None``) and from other
errors (``ConnectionProblem``, not retried); Airflow's does not: docs/design-connection.md."""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from typing import Any

from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import mask_secret

from polars_cloud_provider.compute.errors import RemoteError
from polars_cloud_provider.compute.failures import chain

# Errors meaning the backend could not be reached or could not serve the request right now,
# by "module.Class" anywhere in the class hierarchy of an exception or of one it was raised from.
TRANSIENT_ERRORS = {
    "builtins.OSError",  # sockets, requests/urllib3 (hvac), botocore's timeouts
    "botocore.exceptions.ConnectionError",
    "botocore.exceptions.HTTPClientError",
    "google.api_core.exceptions.ServerError",  # UNAVAILABLE, DEADLINE_EXCEEDED, 5xx
    "google.api_core.exceptions.TooManyRequests",
    "google.api_core.exceptions.RetryError",
    "hvac.exceptions.VaultDown",
    "hvac.exceptions.BadGateway",
    "hvac.exceptions.InternalServerError",
    "hvac.exceptions.RateLimitExceeded",
}


class SecretsBackendUnavailable(Exception):
    """The secrets backend did not answer: an ordinary exception, so Airflow retries the task."""


class ConnectionProblem(AirflowFailException):
    """The Polars Cloud connection is missing, incomplete or unreadable: retrying cannot fix it."""


class _DeadlinePassed(Exception):
    """The lookup outlived its deadline (not a ``TimeoutError`` of the client's)."""


def lookup(conn_id: str, deadline_s: float) -> Any | None:
    """The connection from the configured secrets backend, ``None`` when it has no such secret
    or no backend is configured; raises ``SecretsBackendUnavailable``/``ConnectionProblem``."""
    backend = configured_backend()
    if backend is None:
        return None
    where = describe(backend)
    try:
        connection = _within(deadline_s, lambda: backend.get_connection(conn_id=conn_id))
    except _DeadlinePassed:
        raise SecretsBackendUnavailable(
            f"The {where} did not answer within {deadline_s:g} s while looking up connection "
            f"{conn_id!r}; the task will be retried."
        ) from None
    except Exception as error:
        if type(error).__name__ == "AirflowSecretsBackendAccessDenied":
            raise  # an authoritative deny: Airflow's own meaning, no fallback
        text = " ".join(str(error).split())[:300]
        reason = f"{type(error).__name__}: {text}" if text else type(error).__name__
        if any(map(_unreachable, chain(error))):  # it, or one it was raised from
            raise SecretsBackendUnavailable(
                f"The {where} could not be reached while looking up connection {conn_id!r} "
                f"({reason}); the task will be retried."
            ) from None
        raise ConnectionProblem(
            f"Airflow connection {conn_id!r} for Polars Cloud: the {where} failed to look it up "
            f"({reason}). Check that the backend's credentials may read the secret "
            "(docs/connection.md)."
        ) from None
    if connection is not None:  # hide its secrets in every log, as Airflow's own lookup does
        for value in filter(None, (connection.password, connection.extra)):
            mask_secret(value)
    return connection


def configured_backend() -> Any | None:
    """The secrets backend the deployment configured, as Airflow built it for this process."""
    from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

    for backend in ensure_secrets_backend_loaded():  # then the ones Airflow always adds
        if not type(backend).__module__.startswith(("airflow.secrets.", "airflow.sdk.")):
            _bound_aws_client(backend)
            return backend
    return None


def describe(backend: Any) -> str:
    """``secrets backend VaultBackend at http://vault:8200``, for error messages."""
    name = type(backend).__name__
    try:
        return f"secrets backend {name} at {ADDRESSES[name](backend)}"
    except Exception:  # an unknown class, or a client that cannot even be built
        return f"secrets backend {name}"


ADDRESSES: dict[str, Callable[[Any], str]] = {
    "SecretsManagerBackend": lambda backend: backend.client.meta.endpoint_url,
    "VaultBackend": lambda backend: (
        backend.vault_client.url or os.environ.get("VAULT_ADDR") or "http://localhost:8200"
    ),
    "CloudSecretManagerBackend": lambda backend: backend.client.client.api_endpoint,
}


def _unreachable(error: BaseException) -> bool:
    """Whether ``error`` means "not reachable right now": one of ``TRANSIENT_ERRORS``, or a
    botocore ``ClientError`` for throttling or a server-side failure."""
    if TRANSIENT_ERRORS.intersection(RemoteError.names_of(error)):
        return True
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return "Throttl" in code or status == 429 or status >= 500


def _within(deadline_s: float, call: Callable[[], Any]) -> Any:
    """``call()`` in a daemon thread, waited for at most ``deadline_s`` (then left behind)."""
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, name="secrets-backend-lookup", daemon=True)
    thread.start()
    thread.join(deadline_s)
    if thread.is_alive():
        raise _DeadlinePassed
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _bound_aws_client(backend: Any) -> None:
    """Give the AWS backend's client the ``config_kwargs`` (timeouts, retries) of its kwargs,
    which apache-airflow-providers-amazon 9.39 leaves out (docs/design-connection.md)."""
    aws = type(backend).__name__ == "SecretsManagerBackend"
    if not aws or "client" in vars(backend) or not backend.kwargs.get("config_kwargs"):
        return
    from airflow.providers.amazon.aws.hooks.base_aws import SessionFactory
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    conn = AwsConnectionWrapper.from_connection_metadata(
        conn_id=f"{type(backend).__name__}__connection", extra=backend.kwargs
    )
    session = SessionFactory(conn=conn).create_session()
    vars(backend)["client"] = session.client(  # None is boto3's default for each but use_ssl
        service_name="secretsmanager",
        region_name=conn.region_name,
        verify=conn.verify,
        endpoint_url=conn.endpoint_url,
        api_version=backend.api_version,
        use_ssl=backend.use_ssl is not False,
        config=conn.botocore_config,
    )
