"""Rules for the numeric answers: cluster sizes and the idle timeout.

They are written unquoted into manifests.toml and Python code (``Specs(idle_timeout_mins=10)``),
where a leading zero is an error (``08`` is neither a TOML nor a Python integer): such an
answer is refused rather than normalised, because a cookiecutter hook cannot change an answer.
TOML integers are 64-bit, hence the upper bound.
"""

from __future__ import annotations

MAX_TOML_INTEGER = 2**63 - 1
MIN_IDLE_TIMEOUT_MINS = 10  # Polars Cloud refuses shorter idle timeouts.


def _whole_number_problem(value: str, minimum: int, what: str) -> str | None:
    if not value.isascii() or not value.isdigit():
        return f"must be {what}"
    if len(value) > 1 and value.startswith("0"):
        return f"must be written without leading zeros ({value} is not a TOML or Python number)"
    # Compare lengths first: int() refuses strings of more than 4,300 digits.
    if len(value) > len(str(MAX_TOML_INTEGER)) or int(value) > MAX_TOML_INTEGER:
        return f"must be at most {MAX_TOML_INTEGER} (the largest TOML integer)"
    if int(value) < minimum:
        return f"must be {what}"
    return None


def positive_int(value: str) -> str | None:
    return _whole_number_problem(value, 1, "a positive whole number")


def idle_timeout(value: str) -> str | None:
    what = f"a whole number of minutes, at least {MIN_IDLE_TIMEOUT_MINS} (the Polars Cloud minimum)"
    return _whole_number_problem(value, MIN_IDLE_TIMEOUT_MINS, what)
