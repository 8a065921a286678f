"""Answers the generator must refuse or accept, as data.

``REFUSED`` rows are (field, value, a fragment of the rule the error states); each is checked
against the rules directly (test_pre_gen_hook.py) and through a real bake
(test_generation_safety.py). ``ACCEPTED`` rows are (field, value). This module imports nothing
from the template, so the same tables also run against an older template.
"""

from __future__ import annotations

REFUSED = [
    # Free text: one line of text, no padding; the owner also has Airflow's constraints.
    ("project_name", "", "must not be empty"),
    ("project_name", "Two\nlines", "one line of text"),
    ("project_name", " Padded", "whitespace"),
    ("description", "tab\there", "one line of text"),
    ("description", "nul\x00byte", "one line of text"),
    ("description", "del\x7fete", "one line of text"),
    ("description", "next\x85line", "one line of text"),
    ("description", "line\u2028separator", "one line of text"),
    ("description", "lone \udc80 surrogate", "one line of text"),
    ("description", "non\uffffcharacter", "one line of text"),
    ("description", "trailing space ", "whitespace"),
    ("author_name", "", "must not be empty"),
    ("author_name", "Ada\r\nLovelace", "one line of text"),
    ("author_name", "Smith, John", "list of several owners"),
    ("author_name", "airflow", "default owner"),
    ("author_name", "é" * 501, "at most 500"),
    # Names: shape, length (file names, the generated code's line length), shadowed modules.
    ("project_slug", "My Project", "lowercase letters"),
    ("project_slug", "1st-project", "starting with a letter"),
    ("project_slug", "double--dash", "single '-'"),
    ("project_slug", "a" * 101, "at most 100 characters"),
    ("project_slug", "a" * 300, "at most 100 characters"),
    ("package_name", "my-package", "Python identifier"),
    ("package_name", "class", "keyword"),
    ("package_name", "a" * 300, "at most 100 characters"),
    ("package_name", "p" * 40, "columns wide"),
    ("package_name", "__main__", "'__'"),
    ("package_name", "__pycache__", "'__'"),
    ("package_name", "json", "of Python itself"),
    ("package_name", "typing", "of Python itself"),
    ("package_name", "site", "of Python itself"),
    ("package_name", "logging", "of Python itself"),
    ("package_name", "test", "of Python itself"),
    ("package_name", "sitecustomize", "of Python itself"),
    ("package_name", "airflow", "installed by apache-airflow-core"),
    ("package_name", "polars", "installed by polars"),
    ("package_name", "polars_cloud", "installed by polars-cloud"),
    ("package_name", "moto", "installed by moto"),
    ("package_name", "yaml", "installed by PyYAML"),
    ("package_name", "google", "installed by google-"),
    ("package_name", "hvac", "installed by hvac"),
    ("package_name", "pytest", "installed by pytest"),
    ("package_name", "_pytest", "installed by pytest"),
    ("package_name", "detect_secrets", "installed by detect-secrets"),
    ("package_name", "dags", "of the project (dags/)"),
    ("package_name", "tests", "of the project (tests/)"),
    ("package_name", "conftest", "of the project (tests/conftest.py)"),
    ("package_name", "expected", "of the project (tests/expected.py)"),
    ("package_name", "complete_pipeline", "of the project (dags/complete_pipeline.py)"),
    ("polars_cloud_workspace", "", "1-63 characters"),
    ("polars_cloud_workspace", "my workspace!", "letters, digits"),
    ("manifest_name", "", "1-63 characters"),
    ("manifest_name", "prod/manifest", "letters, digits"),
    ("manifest_name", "x" * 64, "1-63 characters"),
    ("polars_cloud_conn_id", "polars-cloud", "AIRFLOW_CONN_"),
    ("polars_cloud_conn_id", "c" * 90, "columns wide"),
    # Numbers: whole, positive, no leading zeros (invalid in TOML and Python), 64-bit.
    ("cpus", "0", "positive whole number"),
    ("cpus", "1.5", "positive whole number"),
    ("cpus", "\uff18", "positive whole number"),  # a fullwidth 8
    ("cpus", "08", "without leading zeros"),
    ("cpus", "9223372036854775808", "largest TOML integer"),
    ("cpus", "9" * 5000, "largest TOML integer"),
    ("memory_gb", "16GB", "positive whole number"),
    ("memory_gb", "016", "without leading zeros"),
    ("cluster_size", "-2", "positive whole number"),
    ("cluster_size", "01", "without leading zeros"),
    ("idle_timeout_mins", "5", "at least 10"),
    ("idle_timeout_mins", "ten", "whole number of minutes"),
    ("idle_timeout_mins", "010", "without leading zeros"),
    # The data root: an S3 URI with a bucket name S3 accepts and a plain prefix.
    ("data_bucket", "my-bucket", "s3://bucket"),
    ("data_bucket", "gs://my-bucket", "s3://bucket"),
    ("data_bucket", "s3://My_Bucket", "valid S3 bucket name"),
    ("data_bucket", "s3://ab", "valid S3 bucket name"),
    ("data_bucket", "s3://192.168.0.1", "valid S3 bucket name"),
    ("data_bucket", "s3://my..bucket", "valid S3 bucket name"),
    ("data_bucket", "s3://my.-bucket", "valid S3 bucket name"),
    ("data_bucket", "s3://my-.bucket", "valid S3 bucket name"),
    ("data_bucket", "s3://xn--bucket", "valid S3 bucket name"),
    ("data_bucket", "s3://amzn-s3-demo-bucket", "valid S3 bucket name"),
    ("data_bucket", "s3://bucket-s3alias", "valid S3 bucket name"),
    ("data_bucket", "s3://bucket.mrap", "valid S3 bucket name"),
    ("data_bucket", "s3://bucket--x-s3", "valid S3 bucket name"),
    ("data_bucket", "s3://bucket--table-s3", "valid S3 bucket name"),
    ("data_bucket", "s3://bucket//double", "between single '/'"),
    ("data_bucket", "s3://bucket/a b", "between single '/'"),
    ("data_bucket", "s3://bucket/a*b", "glob characters"),
    ("data_bucket", "s3://bucket/a?b", "glob characters"),
    ("data_bucket", "s3://bucket/a[0]", "glob characters"),
    ("data_bucket", "s3://bucket/{a,b}", "glob characters"),
    ("data_bucket", "s3://bucket/../sibling", "'..' segments"),
    ("data_bucket", "s3://bucket/a/./b", "'..' segments"),
    ("data_bucket", "s3://bucket/.", "'..' segments"),
    ("data_bucket", "s3://bucket/" + "p" * 513, "at most 512"),
    # Schedules: the syntax Airflow's croniter reads, and one that can fire.
    ("schedule", "@sometimes", "cron expression"),
    ("schedule", "61 * * * *", "cron expression"),
    ("schedule", "* * *", "cron expression"),
    ("schedule", "0 0 * * 8", "cron expression"),
    ("schedule", "0 0 31 2 *", "never fires"),
    ("schedule", "0 0 30 2 *", "never fires"),
    ("schedule", "0 0 30-31 FEB *", "never fires"),
    ("schedule", "0 0 31 4,6,9,11 *", "never fires"),
    ("schedule", "0 0 31 2 *,MON", "never fires"),
    # Choices and booleans (cookiecutter itself checks these first: see the bake tests).
    ("secrets_backend", "keepass", "one of environment"),
    ("secrets_backend", "Environment", "one of environment"),
    ("include_example_dags", "maybe", "true or false"),
    ("ci", "jenkins", "one of github-actions, gitlab-ci, none"),
    ("ci", "GitHub Actions", "one of github-actions"),
]

ACCEPTED = [
    ("project_name", "Données 数据 🚀"),
    ("project_name", "فريق البيانات"),
    ("description", ""),
    ("description", "עברית \u200f with marks, e\u0301 and a joined emoji 👩\u200d💻"),
    ("author_name", "Zoë O\u2019Brien"),
    ("author_name", "数据平台团队"),
    ("author_name", "é" * 500),
    ("project_slug", "polars"),
    ("project_slug", "a1-b2_c3"),
    ("project_slug", "a" * 100),
    ("package_name", "_private_pkg"),
    ("package_name", "json_tools"),
    ("polars_cloud_workspace", "Team_Workspace-2"),
    ("manifest_name", "m"),
    ("manifest_name", "airflow-prod-eu-west-1"),
    ("polars_cloud_conn_id", "polars_cloud_prod"),
    ("cpus", "64"),
    ("cpus", "9223372036854775807"),
    ("idle_timeout_mins", "10"),
    ("data_bucket", "s3://my.bucket-1"),
    ("data_bucket", "s3://bucket/a/b=c/"),
    ("data_bucket", "s3://bucket/a-b_c.d/(e)!'f"),
    ("data_bucket", "s3://bucket/" + "p" * 512),
    ("schedule", "@hourly"),
    ("schedule", "*/15 6-18 * * MON-FRI"),
    ("schedule", "0 0 1 JAN,JUL *"),
    ("schedule", "0 0 29 2 *"),  # leap years
    ("schedule", "0 0 31 2 MON"),  # day of month or day of week: Mondays in February
    ("schedule", "0 0 31 2 */1"),
    ("schedule", "0 0 31 12-2 *"),  # wraps around the year: December and January
    ("secrets_backend", "gcp-secret-manager"),
    ("include_example_dags", False),
    ("ci", "gitlab-ci"),
    ("ci", "none"),
]

# Every free-text answer at once, in many scripts, with Markdown, TOML and Python syntax.
EXOTIC_TEXT = {
    "project_name": "Données 数据 🚀 *not bold* #1",
    "description": (
        "- Ünïcödé: 数据 · بيانات \u200f(עברית)\u200f · 👩\u200d💻 e\u0301 «q» \"d\" 'sq' "
        "\\ back\\\\slash *i* _u_ `c` <b>t</b> &amp; [l](x) ~~s~~ $m$ | p"
    ),
    "author_name": "Zoë O\u2019Brien-Ωmega 数据团队 فريق البيانات 🚀",
}


def case_id(field: str, value: object) -> str:
    """A short, readable test id for one answer."""
    text = repr(value)
    if len(text) > 30:
        text = f"{text[:20]}...({len(str(value))} chars)"
    return f"{field}={text}"
