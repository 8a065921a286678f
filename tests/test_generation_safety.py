"""Bad answers stop generation with one clear line and leave nothing behind; hostile
answers execute nothing and still produce files that parse."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from conftest import TEMPLATE, bake_ok

# One per rule family; test_pre_gen_hook.py covers every rule on the validator itself.
REFUSED = [
    ("project_slug", "My Project"),
    ("package_name", "class"),
    ("polars_cloud_workspace", ""),
    ("manifest_name", "prod/manifest"),
    ("polars_cloud_conn_id", "polars-cloud"),
    ("cpus", "0"),
    ("memory_gb", "lots"),
    ("cluster_size", "-1"),
    ("idle_timeout_mins", "5"),
    ("data_bucket", "gs://not-s3"),
    ("data_bucket", "s3://Bad_Bucket"),
    ("schedule", "every day"),
    ("secrets_backend", "keepass"),
    ("include_example_dags", "maybe"),
    ("ci", "jenkins"),
]


@pytest.mark.parametrize(("field", "value"), REFUSED, ids=[f"{f}={v!r}" for f, v in REFUSED])
def test_a_bad_answer_stops_generation_and_leaves_nothing(
    cookies, capfd, tmp_path, field, value
) -> None:
    result = cookies.bake(extra_context={field: value}, template=str(TEMPLATE))
    message = capfd.readouterr().err + str(result.exception or "")

    assert result.exit_code != 0
    assert field in message
    assert value in message
    # pytest-cookies gives the bake an empty output folder, tmp_path/cookies/bake00.
    made = [p for p in tmp_path.rglob("*") if p.is_file() or p.name not in {"cookies", "bake00"}]
    assert made == []


def test_the_hook_message_is_one_line_per_problem(cookies, capfd) -> None:
    result = cookies.bake(extra_context={"cpus": "0", "schedule": "never"}, template=str(TEMPLATE))
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")]
    assert result.exit_code != 0
    assert errors == [
        "ERROR: Invalid cpus '0': must be a positive whole number.",
        "ERROR: Invalid schedule 'never': must be one of @once, @hourly, @daily, @weekly, "
        "@monthly, @quarterly, @yearly or a five-field cron expression.",
    ]


MARKER = "PWNED-BY-ANSWER"
PAYLOAD = f"__import__('pathlib').Path('{MARKER}').touch()"
HOSTILE = {
    "project_name": f'Bobby"; {PAYLOAD}; x="',
    "description": f"Quotes ' \" ''' \"\"\" and \\ back\\\\slashes, {{{{ 7 * 7 }}}}, {PAYLOAD}",
    "author_name": 'O\'Brien "The \\ Hacker" </script> é',
}


def _markers(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob(f"*{MARKER}*")]


def test_hostile_free_text_executes_nothing_and_still_parses(
    cookies, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = bake_ok(cookies, **HOSTILE)

    assert _markers(tmp_path, project, TEMPLATE) == []
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(), filename=str(path))
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    # Cookiecutter renders answers as Jinja ({{ 7 * 7 }} -> 49); beyond that, verbatim.
    assert metadata["description"] == HOSTILE["description"].replace("{{ 7 * 7 }}", "49")
    assert metadata["authors"] == [{"name": HOSTILE["author_name"]}]
    owner = (project / "dags" / project.name.replace("-", "_") / "dag_defaults.py").read_text()
    assert ast.literal_eval(owner.split("OWNER = ", 1)[1].splitlines()[0]) == HOSTILE["author_name"]


def test_a_template_injection_answer_is_refused_not_run(cookies, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    escape = "{{ cycler.__init__.__globals__.os.system('touch " + MARKER + "') }}"
    result = cookies.bake(extra_context={"description": escape}, template=str(TEMPLATE))

    assert result.exit_code != 0
    assert "unsafe" in str(result.exception)
    assert _markers(tmp_path, TEMPLATE) == []
