"""Validate the answers before cookiecutter writes the project.

Every rule names the field, the rejected value and what is allowed, on one line, and the
hook exits non-zero: cookiecutter then removes the folder it just created, so a bad answer
leaves nothing on disk.

The answers are read with ``tojson`` into a raw string and parsed as JSON: they are data,
never code, whatever quotes, backslashes or payloads they contain. Until cookiecutter renders
this file, the line below is still a valid (unrendered) string, which lets the tests import
this module and call ``validate`` directly.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

SECRETS_BACKENDS = ("environment", "aws-secrets-manager", "hashicorp-vault", "gcp-secret-manager")

CI_SYSTEMS = ("github-actions", "gitlab-ci", "none")

# Airflow's cron presets (airflow.sdk.definitions.timetables._cron.CRON_PRESETS) plus @once.
SCHEDULE_PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")

MIN_IDLE_TIMEOUT_MINS = 10  # Polars Cloud refuses shorter idle timeouts.

# Package names that would shadow what the generated project imports.
RESERVED_PACKAGES = frozenset(
    {"airflow", "polars", "polars_cloud", "dags", "tests", "test", "conftest", "pytest"}
)

_SLUG = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
_PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
# Workspace and manifest names: letters, digits, "-" and "_", starting and ending with a
# letter or digit, at most 63 characters (the conservative, DNS-label-like subset that
# Polars Cloud accepts and that is safe in URLs, logs and file names).
_CLOUD_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")
# A connection id must also work as AIRFLOW_CONN_<ID> in a shell.
_CONN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,249}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9!_.*'()=-]+")

Rule = Callable[[str], str | None]


def _slug(value: str) -> str | None:
    if not _SLUG.fullmatch(value):
        return (
            "use lowercase letters, digits and single '-' or '_' between them, "
            "starting with a letter"
        )
    return None


def _package(value: str) -> str | None:
    if not _PACKAGE.fullmatch(value) or keyword.iskeyword(value):
        return "must be a lowercase Python identifier (letters, digits, '_'; not a keyword)"
    if value in RESERVED_PACKAGES:
        return (
            f"must not shadow an import the project needs: {', '.join(sorted(RESERVED_PACKAGES))}"
        )
    return None


def _cloud_name(value: str) -> str | None:
    if not _CLOUD_NAME.fullmatch(value):
        return (
            "must be 1-63 characters of letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return None


def _conn_id(value: str) -> str | None:
    if not _CONN_ID.fullmatch(value):
        return (
            "must be letters, digits and '_' (not starting with a digit), "
            "so that AIRFLOW_CONN_<ID> is a valid environment variable name"
        )
    return None


def _positive_int(value: str) -> str | None:
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        return "must be a positive whole number"
    return None


def _idle_timeout(value: str) -> str | None:
    if not value.isascii() or not value.isdigit():
        return f"must be a whole number of minutes, at least {MIN_IDLE_TIMEOUT_MINS}"
    if int(value) < MIN_IDLE_TIMEOUT_MINS:
        return f"must be at least {MIN_IDLE_TIMEOUT_MINS} (the Polars Cloud minimum)"
    return None


def _data_bucket(value: str) -> str | None:
    rule = "must look like s3://bucket or s3://bucket/prefix"
    if not value.startswith("s3://"):
        return rule
    bucket, _, prefix = value.removeprefix("s3://").partition("/")
    if (
        not _BUCKET.fullmatch(bucket)
        or ".." in bucket
        or _IPV4.fullmatch(bucket)
        or bucket.startswith(("xn--", "sthree-"))
        or bucket.endswith(("-s3alias", "--ol-s3"))
    ):
        return (
            f"{rule}, with a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-', "
            "starting and ending with a letter or digit)"
        )
    segments = prefix.rstrip("/").split("/") if prefix.rstrip("/") else []
    if not all(_PREFIX_SEGMENT.fullmatch(segment) for segment in segments):
        return f"{rule}; the prefix allows letters, digits and !_.*'()=- between single '/'"
    return None


_CRON_FIELDS = (  # name, lowest, highest, names usable instead of numbers
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    ),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)


def _cron_value(token: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if token.upper() in names:
        return names.index(token.upper()) + low
    if token.isascii() and token.isdigit() and low <= int(token) <= high:
        return int(token)
    return None


def _cron_field_ok(field: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    for part in field.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isascii() and step.isdigit() and int(step) > 0):
            return False
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        start = _cron_value(first, low, high, names)
        if start is None:
            return False
        if dash and _cron_value(last, low, high, names) is None:
            return False
    return True


def _schedule(value: str) -> str | None:
    if value in SCHEDULE_PRESETS:
        return None
    fields = value.split()
    if len(fields) == 5 and all(
        _cron_field_ok(field, low, high, names)
        for field, (_, low, high, names) in zip(fields, _CRON_FIELDS, strict=True)
    ):
        return None
    return f"must be one of {', '.join(SCHEDULE_PRESETS)} or a five-field cron expression"


def _one_of(choices: tuple[str, ...]) -> Rule:
    def rule(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return rule


def _boolean(value: Any) -> str | None:
    if not isinstance(value, bool):
        return "must be true or false"
    return None


RULES: Mapping[str, Rule] = {
    "project_slug": _slug,
    "package_name": _package,
    "polars_cloud_workspace": _cloud_name,
    "manifest_name": _cloud_name,
    "polars_cloud_conn_id": _conn_id,
    "cpus": _positive_int,
    "memory_gb": _positive_int,
    "cluster_size": _positive_int,
    "idle_timeout_mins": _idle_timeout,
    "data_bucket": _data_bucket,
    "schedule": _schedule,
    "secrets_backend": _one_of(SECRETS_BACKENDS),
    "include_example_dags": _boolean,
    "ci": _one_of(CI_SYSTEMS),
}


def validate(answers: Mapping[str, Any]) -> list[str]:
    """Return one message per invalid answer, in prompt order; empty when all are valid."""
    errors = []
    for field, rule in RULES.items():
        value = answers.get(field)
        if field != "include_example_dags":
            value = "" if value is None else str(value)
        problem = rule(value)
        if problem:
            errors.append(f"Invalid {field} {value!r}: {problem}.")
    return errors


def main() -> int:
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    errors = validate(answers)
    for message in errors:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
