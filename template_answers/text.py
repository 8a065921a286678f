"""Rules for the free-text answers: project_name, description and author_name.

Any script is welcome (accents, CJK, right-to-left text, emoji, joiners and marks). What is
refused cannot be shown on the one line each answer becomes (a README heading, a TOML value,
a DAG owner): control characters (tabs and newlines included), line and paragraph
separators, lone surrogates and noncharacters (not text: no UTF-8 encoding or no meaning),
and leading or trailing whitespace (Markdown and TOML readers would drop or show it).
"""

from __future__ import annotations

import unicodedata

_NOT_ON_ONE_LINE = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, surrogates, separators

# Airflow's audit log keeps a task's owner in a 500-character column
# (airflow/models/log.py, Log.owner); PostgreSQL refuses a longer value.
MAX_OWNER_LENGTH = 500
AIRFLOW_DEFAULT_OWNER = "airflow"


def _is_noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be written as one line of text, or None."""
    if any(unicodedata.category(c) in _NOT_ON_ONE_LINE or _is_noncharacter(c) for c in value):
        return (
            "must be one line of text: no control characters (tab, newline...), line "
            "separators, lone surrogates or noncharacters"
        )
    if value != value.strip():
        return "must not start or end with whitespace"
    return None


def optional_text(value: str) -> str | None:
    return text_problem(value)


def required_text(value: str) -> str | None:
    return "must not be empty" if not value else text_problem(value)


def owner(value: str) -> str | None:
    """author_name becomes the owner of every task (dag_defaults.OWNER)."""
    if problem := required_text(value):
        return problem
    if "," in value:
        return "must not contain ',' (Airflow reads commas as a list of several owners)"
    if value == AIRFLOW_DEFAULT_OWNER:
        return (
            "must not be 'airflow', Airflow's default owner "
            "(the project's tests check that every task names its own)"
        )
    if len(value) > MAX_OWNER_LENGTH:
        return (
            f"must be at most {MAX_OWNER_LENGTH} characters "
            "(Airflow's audit log stores a task's owner in that many)"
        )
    return None
