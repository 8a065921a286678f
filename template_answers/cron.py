"""The rule for schedule: an Airflow preset, or a five-field cron expression that can fire.

Airflow reads cron expressions with croniter, which cookiecutter's interpreter does not have,
so this module reads them itself, the way croniter does (tests/test_pre_gen_hook.py checks
both agree): numbers, names, ``*``, ranges (reversed ones wrap around the field), steps and
lists; no ``L``, ``W``, ``#``, ``?`` or seconds field.

When the day-of-month and day-of-week fields are both restricted, cron fires on days that
match either; when the day of week is ``*`` (one of its list items is enough, for croniter),
only the day of month counts. So an expression never fires exactly when its day of week is
``*`` and its earliest day of month is past the end of every month it names (February
counted with 29 days: ``0 0 29 2 *`` fires in leap years). Airflow accepts such a DAG and
never runs it.
"""

from __future__ import annotations

import calendar

# Airflow's cron presets (airflow.sdk.definitions.timetables._cron.CRON_PRESETS) plus @once.
SCHEDULE_PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS = (  # name, lowest, highest, names usable instead of numbers
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK = 2, 3, 4
_LONGEST_MONTH = {month: calendar.monthrange(2024, month)[1] for month in range(1, 13)}  # leap


def _value(token: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if token.upper() in names:
        return names.index(token.upper()) + low
    if token.isascii() and token.isdigit() and low <= int(token) <= high:
        return int(token)
    return None


def _field_ok(field: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    for part in field.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isascii() and step.isdigit() and int(step) > 0):
            return False
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        if _value(first, low, high, names) is None:
            return False
        if dash and _value(last, low, high, names) is None:
            return False
    return True


def _expand(field: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    """The values a (valid) day-of-month or month field matches, as croniter expands it."""
    values: set[int] = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        step = int(step_text) if slash else 1
        first, dash, last = base.partition("-")
        if base == "*":
            start, end = low, high
        else:
            start = _value(first, low, high, names)
            end = _value(last, low, high, names) if dash else (high if slash else start)
            if dash and start == end:  # "5-5" is croniter's whole field, unlike "5"
                start, end = low, high
        if start <= end:
            values.update(range(start, end + 1, step))
            continue
        # A reversed range wraps: start..high, then low.. end, with croniter's phase.
        head = range(start, high + 1, step)
        overshoot = head[-1] + step - high
        values.update(head)
        values.update(range(low + (overshoot if overshoot > 1 else 0), end + 1, step))
    return values


def _never_fires(fields: list[str]) -> str | None:
    if "*" not in fields[_DAY_OF_WEEK].split(","):
        return None
    days = _expand(fields[_DAY_OF_MONTH], *_FIELDS[_DAY_OF_MONTH][1:])
    months = _expand(fields[_MONTH], *_FIELDS[_MONTH][1:])
    if min(days) <= max(_LONGEST_MONTH[month] for month in months):
        return None
    named = ", ".join(calendar.month_name[month] for month in sorted(months))
    return (
        f"never fires: no day {min(days)} or later exists in {named}, and a day of week "
        "of '*' leaves the day of month to decide"
    )


def schedule(value: str) -> str | None:
    if value in SCHEDULE_PRESETS:
        return None
    fields = value.split()
    if len(fields) != 5 or not all(
        _field_ok(field, low, high, names)
        for field, (_, low, high, names) in zip(fields, _FIELDS, strict=True)
    ):
        return f"must be one of {', '.join(SCHEDULE_PRESETS)} or a five-field cron expression"
    return _never_fires(fields)
