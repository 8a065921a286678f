"""The rules every DAG in this repository follows. Edit the values here, not the tests."""

from __future__ import annotations

APPROVED_TAGS = frozenset(
    {
        "polars-cloud",
        "example",
        "single-query",
        "fire-and-forget",
        "parallel",
        "multi-stage",
        "pipeline",
        "demo",  # make demo runs the DAGs with this tag (every DAG when none has it)
    }
)
"""Tags a DAG may carry (it must carry at least one)."""

MIN_RETRIES = 2
"""Every task retries at least this often: Polars Cloud clusters can take a while to start."""

CATCHUP_ALLOWED: frozenset[str] = frozenset()
"""DAG ids that deliberately catch up (backfill) when deployed; all others set catchup=False."""

MAX_FIRE_AND_FORGET_IDLE_MINS = {{ [30, cookiecutter.idle_timeout_mins | int] | max }}
"""A fire-and-forget query has no shutdown task (it would kill the running query), so its
cluster's idle timeout is all that stops it: it must be set explicitly and be at most this."""
