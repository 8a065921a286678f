"""What every DAG in this project shares: owner, retries, start date, schedule, tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

{{ cookiecutter.author_name | python_constant("OWNER") }}
SCHEDULE = {{ cookiecutter.schedule | tojson }}
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
TAG = "polars-cloud"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
}


def tags(*extra: str) -> list[str]:
    """The project tag plus ``extra``; every DAG carries it so the UI can filter on it."""
    return [TAG, *extra]
