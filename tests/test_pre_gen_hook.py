"""The answer rules, called directly (template_answers, local_extensions.answer_problems):
the same check the bake runs while collecting the answers and again in the pre-generation
hook."""

from __future__ import annotations

import importlib.util
import itertools
import json
from datetime import datetime

import pytest
from answer_cases import ACCEPTED, REFUSED, case_id
from conftest import DEFAULTS, TEMPLATE

import template_answers
from local_extensions import answer_problems
from template_answers import cron, refresh_reserved_modules, reserved

VALID = {
    **{k: v for k, v in DEFAULTS.items() if not k.startswith("_")},
    "project_slug": "polars-cloud-pipelines",
    "package_name": "polars_cloud_pipelines",
    "secrets_backend": "environment",
    "ci": "github-actions",
}


def test_the_defaults_are_valid() -> None:
    assert answer_problems(VALID) == []


@pytest.mark.parametrize(("field", "value"), ACCEPTED, ids=[case_id(*c) for c in ACCEPTED])
def test_valid_answers_pass(field, value) -> None:
    assert answer_problems({**VALID, field: value}) == []


@pytest.mark.parametrize(
    ("field", "value", "rule"), REFUSED, ids=[case_id(f, v) for f, v, _ in REFUSED]
)
def test_invalid_answers_are_named_with_their_rule(field, value, rule) -> None:
    errors = answer_problems({**VALID, field: value})
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"Invalid {field} {template_answers.shown(value)}: ")
    assert rule in errors[0]
    assert "\n" not in errors[0]
    assert len(errors[0]) < 400, "one readable line"


def test_every_rule_has_refusals() -> None:
    assert len({(field, value) for field, value, _ in REFUSED}) >= 15
    assert {field for field, _, _ in REFUSED} == set(template_answers.rules({}))


def test_long_values_are_cut_in_messages() -> None:
    assert template_answers.shown("a" * 300) == f"{'a' * 40!r}... (300 characters)"
    assert template_answers.shown("short") == "'short'"


# --- package names: what they must not shadow ----------------------------------------------


def test_the_reserved_module_list_is_fresh() -> None:
    # Regenerating it from the locked environment gives the committed file: when this fails,
    # run `uv run python -m template_answers.refresh_reserved_modules`.
    assert reserved.DATA_FILE.read_text(encoding="utf-8") == (
        refresh_reserved_modules.reserved_lines()
    )


def test_every_reserved_dependency_module_is_importable_here() -> None:
    # The list holds modules that exist, not guesses: each one from a dependency is found on
    # this environment's path, where the generated project's suite runs.
    from_dependencies = {
        name for name, origin in reserved.read_data_file().items() if origin != reserved.PYTHON
    }
    assert len(from_dependencies) > 200
    missing = {n for n in from_dependencies if importlib.util.find_spec(n) is None}
    assert missing == set()


def test_the_projects_own_modules_are_reserved() -> None:
    own = reserved.project_modules(TEMPLATE)
    assert {"dags", "tests", "conftest", "expected", "complete_pipeline"} <= set(own)
    assert own["orders_by_status"] == "project:dags/orders_by_status.py"


# --- schedules: agreement with the croniter Airflow uses -------------------------------------

CRON_SAMPLES = [
    "* * * * *",
    "0 0 * * *",
    "*/5 * * * *",
    "5/15 * * * *",
    "0 9-17 * * 1-5",
    "0 0 1,15 * *",
    "0 0 * JAN-MAR SUN",
    "30 2 * * 7",
    "60 * * * *",
    "0 24 * * *",
    "0 0 0 * *",
    "0 0 32 * *",
    "0 0 * 13 *",
    "0 0 * * 8",
    "*/0 * * * *",
    "5-1 * * * *",
    "a b c d e",
    "0 0 * *",
]


@pytest.mark.parametrize("expression", CRON_SAMPLES)
def test_cron_syntax_agrees_with_the_croniter_airflow_uses(expression) -> None:
    from croniter import croniter

    assert (cron.schedule(expression) is None) == croniter.is_valid(expression)


# Day-of-month, month and day-of-week fields that exercise every way cron combines them:
# lists, ranges (reversed ones wrap), steps, equal ranges (croniter's whole field), names.
DAYS = ["31", "30", "29", "1", "30-31", "29,31", "31-1", "30-2/2", "5-5", "31/5", "*/15", "28-31/3"]
MONTHS = ["*", "2", "FEB", "4,6,9,11", "2,4", "1-2", "*/2", "11-2/3", "12-1", "4-4", "2-4/2"]
WEEKDAYS = ["*", "MON", "*,1", "*/1", "0-7", "1-5"]


def _croniter_fires(expression: str) -> bool:
    from croniter import CroniterBadDateError, croniter

    try:
        croniter(expression, datetime(2026, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        return False
    return True


def test_a_schedule_is_refused_exactly_when_croniter_never_fires() -> None:
    cases = [f"0 0 {d} {m} {w}" for d, m, w in itertools.product(DAYS, MONTHS, WEEKDAYS)]
    disagreements = [
        expression
        for expression in cases
        if (cron.schedule(expression) is None) != _croniter_fires(expression)
    ]
    assert disagreements == []
    assert sum(cron.schedule(e) is not None for e in cases) >= 30  # it does refuse some


@pytest.mark.parametrize(
    ("field", "values", "low", "high", "names"),
    [(2, DAYS, 1, 31, ()), (3, MONTHS, 1, 12, cron._MONTHS)],
    ids=["day-of-month", "month"],
)
def test_fields_expand_as_croniter_expands_them(field, values, low, high, names) -> None:
    from croniter import croniter

    for value in values:
        fields = ["0", "0", "1", "1", "*"]
        fields[field] = value
        expanded = croniter.expand(" ".join(fields))[0][field]
        expected = set(range(low, high + 1)) if expanded == ["*"] else set(expanded)
        assert cron._expand(value, low, high, names) == expected, value


def test_six_field_cron_is_refused_on_purpose() -> None:
    # croniter reads a sixth field as seconds; Airflow schedules are minute-grained.
    assert cron.schedule("0 0 * * * *") is not None


def test_schedule_presets_are_airflows() -> None:
    from airflow.sdk.definitions.timetables._cron import CRON_PRESETS

    assert set(cron.SCHEDULE_PRESETS) == {*CRON_PRESETS, "@once"}


# --- the choices and the hook ----------------------------------------------------------------


def test_the_choice_rules_are_the_prompts_choices() -> None:
    assert list(template_answers.CI_SYSTEMS) == DEFAULTS["ci"]
    assert list(template_answers.SECRETS_BACKENDS) == DEFAULTS["secrets_backend"]
    assert set(DEFAULTS["__prompts__"]["ci"]) == {"__prompt__", *DEFAULTS["ci"]}


def test_the_check_runs_after_every_prompted_answer() -> None:
    # Cookiecutter renders keys in order: the check must come after every visible prompt.
    keys = list(json.loads((TEMPLATE / "cookiecutter.json").read_text()))
    check = keys.index("__answers_checked")
    assert all(k.startswith("_") for k in keys[check:])
    assert DEFAULTS["__answers_checked"] == "{{ cookiecutter | check_answers }}"


def test_the_hook_reads_answers_as_json_not_as_code() -> None:
    source = (TEMPLATE / "hooks" / "pre_gen_project.py").read_text()
    assert 'json.loads(r"""{{ cookiecutter | tojson }}""")' in source
    assert 'json.loads(r"""[{{ template_dir | tojson }}]""")[0]' in source
    assert source.count("{{") == 2, "answers must only reach the hook through tojson"
    assert "{%" not in source
