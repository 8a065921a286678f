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
        "data-aware",
        "maintenance",
    }
)
"""Tags a DAG may carry (it must carry at least one)."""

MIN_RETRIES = 2
"""Every task retries at least this often: Polars Cloud clusters can take a while to start."""

CATCHUP_ALLOWED: frozenset[str] = frozenset()
"""DAG ids that deliberately catch up (backfill) when deployed; all others set catchup=False."""

MAX_UNSTOPPED_IDLE_MINS = {{ [30, cookiecutter.idle_timeout_mins | int] | max }}
"""A cluster no task stops (a shared manifest's, a fire-and-forget query's) is stopped only
by its idle timeout: it must be declared (manifests.toml, or the Specs) and be at most this."""
