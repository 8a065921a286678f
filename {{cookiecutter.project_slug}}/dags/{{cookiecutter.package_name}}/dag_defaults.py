"""What every DAG in this project shares: owner, retries, time limits, start date, schedule,
tags.

Retries are for what a retry can fix (network, a busy service, a cluster that did not
start): they come after ``retry_delay_s``, then twice that, and so on. Errors in the data or
the query fail at once whatever ``retries`` says (``compute/failures.py``). A task may run
``EXECUTION_MARGIN`` longer than its query's bound, for starting a cluster and planning, so
the query timeout fires first and names the query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from polars_cloud_provider import settings as provider_settings

from {{ cookiecutter.package_name }} import settings

{{ cookiecutter.author_name | python_constant("OWNER") }}
SCHEDULE = {{ cookiecutter.schedule | tojson }}
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
"""Every DAG's first logical date, and the day make run, make demo, the sample data and the
tests use by default: set it to the first day of your data (docs/settings.md)."""
TAG = "polars-cloud"
EXECUTION_MARGIN = timedelta(minutes=10)

_current = settings.load()
DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    # Every @polars_task logs in with this connection (the operator's argument).
    "polars_cloud_conn_id": _current.conn_id,
    "retries": 3,
    "retry_delay": timedelta(seconds=_current.retry_delay_s),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(seconds=provider_settings.load().query_timeout_s)
    + EXECUTION_MARGIN,
}


def tags(*extra: str) -> list[str]:
    """The project tag plus ``extra``; every DAG carries it so the UI can filter on it."""
    return [TAG, *extra]
