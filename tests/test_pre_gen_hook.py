"""The answer validation, called directly (the hook module imports unrendered)."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import DEFAULTS, TEMPLATE

spec = importlib.util.spec_from_file_location(
    "pre_gen_project", TEMPLATE / "hooks" / "pre_gen_project.py"
)
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)

VALID = {
    **{k: v for k, v in DEFAULTS.items() if not k.startswith("_")},
    "project_slug": "polars-cloud-pipelines",
    "package_name": "polars_cloud_pipelines",
    "secrets_backend": "environment",
    "ci": "github-actions",
}


def test_the_defaults_are_valid() -> None:
    assert hook.validate(VALID) == []


def test_the_hook_reads_answers_as_json_not_as_code() -> None:
    source = (TEMPLATE / "hooks" / "pre_gen_project.py").read_text()
    assert 'json.loads(r"""{{ cookiecutter | tojson }}""")' in source
    assert source.count("{{") == 1, "answers must only reach the hook through tojson"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project_slug", "polars"),
        ("project_slug", "a1-b2_c3"),
        ("package_name", "_private_pkg"),
        ("polars_cloud_workspace", "Team_Workspace-2"),
        ("manifest_name", "m"),
        ("polars_cloud_conn_id", "polars_cloud_prod"),
        ("cpus", "64"),
        ("idle_timeout_mins", "10"),
        ("data_bucket", "s3://my.bucket-1"),
        ("data_bucket", "s3://bucket/a/b=c/"),
        ("schedule", "@hourly"),
        ("schedule", "*/15 6-18 * * MON-FRI"),
        ("schedule", "0 0 1 JAN,JUL *"),
        ("secrets_backend", "gcp-secret-manager"),
        ("include_example_dags", False),
        ("ci", "gitlab-ci"),
        ("ci", "none"),
    ],
)
def test_valid_answers_pass(field, value) -> None:
    assert hook.validate({**VALID, field: value}) == []


INVALID = [
    ("project_slug", "My Project", "lowercase letters"),
    ("project_slug", "1st-project", "starting with a letter"),
    ("project_slug", "double--dash", "single '-'"),
    ("package_name", "my-package", "Python identifier"),
    ("package_name", "class", "keyword"),
    ("package_name", "polars", "shadow"),
    ("polars_cloud_workspace", "", "1-63 characters"),
    ("polars_cloud_workspace", "my workspace!", "letters, digits"),
    ("manifest_name", "", "1-63 characters"),
    ("manifest_name", "prod/manifest", "letters, digits"),
    ("manifest_name", "x" * 64, "1-63 characters"),
    ("polars_cloud_conn_id", "polars-cloud", "AIRFLOW_CONN_"),
    ("cpus", "0", "positive whole number"),
    ("cpus", "1.5", "positive whole number"),
    ("memory_gb", "16GB", "positive whole number"),
    ("cluster_size", "-2", "positive whole number"),
    ("idle_timeout_mins", "5", "at least 10"),
    ("idle_timeout_mins", "ten", "whole number of minutes"),
    ("data_bucket", "my-bucket", "s3://bucket"),
    ("data_bucket", "gs://my-bucket", "s3://bucket"),
    ("data_bucket", "s3://My_Bucket", "valid S3 bucket name"),
    ("data_bucket", "s3://ab", "valid S3 bucket name"),
    ("data_bucket", "s3://192.168.0.1", "valid S3 bucket name"),
    ("data_bucket", "s3://bucket//double", "prefix"),
    ("schedule", "@sometimes", "cron expression"),
    ("schedule", "61 * * * *", "cron expression"),
    ("schedule", "* * *", "cron expression"),
    ("schedule", "0 0 * * 8", "cron expression"),
    ("secrets_backend", "keepass", "one of environment"),
    ("include_example_dags", "maybe", "true or false"),
    ("ci", "jenkins", "one of github-actions, gitlab-ci, none"),
    ("ci", "GitHub Actions", "one of github-actions"),
]


@pytest.mark.parametrize(
    ("field", "value", "rule"), INVALID, ids=[f"{f}={v!r}"[:40] for f, v, _ in INVALID]
)
def test_invalid_answers_are_named_with_their_rule(field, value, rule) -> None:
    errors = hook.validate({**VALID, field: value})
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"Invalid {field} {value!r}: ")
    assert rule in errors[0]
    assert "\n" not in errors[0]


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
def test_cron_rule_agrees_with_the_croniter_airflow_uses(expression) -> None:
    from croniter import croniter

    assert (hook._schedule(expression) is None) == croniter.is_valid(expression)


def test_six_field_cron_is_refused_on_purpose() -> None:
    # croniter reads a sixth field as seconds; Airflow schedules are minute-grained.
    assert hook._schedule("0 0 * * * *") is not None


def test_schedule_presets_are_airflows() -> None:
    from airflow.sdk.definitions.timetables._cron import CRON_PRESETS

    assert set(hook.SCHEDULE_PRESETS) == {*CRON_PRESETS, "@once"}


def test_main_reports_every_problem_and_exits_non_zero(capsys, monkeypatch) -> None:
    answers = {**VALID, "cpus": "0", "schedule": "never"}
    monkeypatch.setattr(hook.json, "loads", lambda _: answers)
    assert hook.main() == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "ERROR: Invalid cpus '0': must be a positive whole number.",
        f"ERROR: Invalid schedule 'never': must be one of {', '.join(hook.SCHEDULE_PRESETS)} "
        "or a five-field cron expression.",
    ]
    monkeypatch.setattr(hook.json, "loads", lambda _: VALID)
    assert hook.main() == 0


def test_the_ci_choices_are_the_prompts_choices() -> None:
    assert list(hook.CI_SYSTEMS) == DEFAULTS["ci"]
    assert set(DEFAULTS["__prompts__"]["ci"]) == {"__prompt__", *DEFAULTS["ci"]}
