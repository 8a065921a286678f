"""The template's rules for its answers, and how answers are written into files.

``problems(answers, template_dir)`` returns one message per invalid answer. It runs twice in
cookiecutter's own interpreter, which has only the standard library and cookiecutter's
dependencies: while cookiecutter collects the answers (local_extensions.py), before anything
is written, and in the pre-generation hook, the backstop for replayed answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import cron, line_width, names, numbers, storage, text
from .reserved import reserved_modules

SECRETS_BACKENDS = ("environment", "aws-secrets-manager", "hashicorp-vault", "gcp-secret-manager")
CI_SYSTEMS = ("github-actions", "gitlab-ci", "none")
SHOWN_LENGTH = 60  # longer values are cut in messages, which stay one readable line

Rule = Callable[[Any], str | None]


def _one_of(choices: tuple[str, ...]) -> Rule:
    def rule(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return rule


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def rules(reserved: Mapping[str, str]) -> dict[str, Rule]:
    """Each answer's rule, in prompt order; ``reserved`` as ``reserved_modules`` returns."""
    return {
        "project_name": text.required_text,
        "project_slug": names.project_slug,
        "package_name": names.package_name(reserved),
        "description": text.optional_text,
        "author_name": text.owner,
        "polars_cloud_workspace": names.cloud_name,
        "polars_cloud_conn_id": names.conn_id,
        "manifest_name": names.cloud_name,
        "cpus": numbers.positive_int,
        "memory_gb": numbers.positive_int,
        "cluster_size": numbers.positive_int,
        "idle_timeout_mins": numbers.idle_timeout,
        "data_bucket": storage.data_bucket,
        "schedule": cron.schedule,
        "secrets_backend": _one_of(SECRETS_BACKENDS),
        "include_example_dags": _boolean,
        "ci": _one_of(CI_SYSTEMS),
    }


def shown(value: Any) -> str:
    """``value`` as an error message shows it: its repr, cut when long."""
    if isinstance(value, str) and len(value) > SHOWN_LENGTH:
        return f"{value[: SHOWN_LENGTH - 20]!r}... ({len(value)} characters)"
    return repr(value)


def validate(
    answers: Mapping[str, Any],
    reserved: Mapping[str, str],
    overlong: Mapping[str, str] | None = None,
) -> list[str]:
    """One message per invalid answer, in prompt order; empty when all are valid.

    ``overlong`` holds the problems ``line_width.overlong`` found, reported for the answers
    that pass their own rule.
    """
    errors = []
    for field, rule in rules(reserved).items():
        value = answers.get(field)
        if field != "include_example_dags":
            value = "" if value is None else str(value)
        if problem := rule(value) or (overlong or {}).get(field):
            errors.append(f"Invalid {field} {shown(value)}: {problem}.")
    return errors


def problems(
    answers: Mapping[str, Any], template_dir: Path, render: Callable[[str], str | None]
) -> list[str]:
    """``validate`` for this template: its reserved module names, and its Python lines
    rendered one by one with ``render`` (see ``line_width.overlong``)."""
    overlong = line_width.overlong(template_dir, answers, render)
    return validate(answers, reserved_modules(template_dir), overlong)
