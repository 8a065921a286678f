"""Bad answers stop generation with one clear line and leave nothing behind; hostile
answers execute nothing and still produce files that parse."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from conftest import TEMPLATE, bake_ok
from test_pre_gen_hook import INVALID, hook

# Every invalid answer the validator's own tests use (test_pre_gen_hook.py), fed through a
# real bake: a clear error naming the field and the value, and nothing on disk.
REFUSED = INVALID
# Cookiecutter checks its choice and boolean variables itself, before any hook runs, with a
# ValueError that names the field, the value (and the choices); the hook never sees these.
CHECKED_BY_COOKIECUTTER = {"secrets_backend", "include_example_dags", "ci"}
HOOK_LINE = re.compile(r"ERROR: Invalid (\w+) '.*': .+\.")


@pytest.mark.parametrize(
    ("field", "value", "rule"), REFUSED, ids=[f"{f}={v!r}"[:40] for f, v, _ in REFUSED]
)
def test_a_bad_answer_stops_generation_and_leaves_nothing(
    cookies, capfd, tmp_path, field, value, rule
) -> None:
    result = cookies.bake(extra_context={field: value}, template=str(TEMPLATE))
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")]

    assert result.exit_code != 0
    if field in CHECKED_BY_COOKIECUTTER:
        assert isinstance(result.exception, ValueError), result.exception
        assert f"{value} provided for" in str(result.exception)
        assert field in str(result.exception)
    else:
        # One line for this answer (a bad project_slug also makes the derived package_name
        # bad: that gets its own line), each naming field, value and rule.
        assert all(HOOK_LINE.fullmatch(line) for line in errors), errors
        mine = [line for line in errors if line.startswith(f"ERROR: Invalid {field} {value!r}: ")]
        assert len(mine) == 1, errors
        assert rule in mine[0]
    assert _left_on_disk(tmp_path) == []


def _left_on_disk(tmp_path: Path) -> list[Path]:
    # pytest-cookies gives the bake an empty output folder, tmp_path/cookies/bake00.
    return [p for p in tmp_path.rglob("*") if p.is_file() or p.name not in {"cookies", "bake00"}]


def test_there_are_at_least_fifteen_distinct_refusals() -> None:
    assert len({(field, value) for field, value, _ in REFUSED}) >= 15
    assert {field for field, _, _ in REFUSED} == set(hook.RULES)  # every rule the hook has


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


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("{{ cycler.__init__.__globals__.os.system('touch " + MARKER + "') }}", "unsafe"),
        ("{{ 7 * }}", "unexpected 'end of print statement'"),
    ],
    ids=["sandbox-escape", "broken-jinja"],
)
def test_an_answer_that_is_not_plain_text_is_refused_not_run(
    cookies, tmp_path, monkeypatch, answer, error
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cookies.bake(extra_context={"description": answer}, template=str(TEMPLATE))

    assert result.exit_code != 0
    assert error in str(result.exception)
    assert _markers(tmp_path, TEMPLATE) == []
    assert _left_on_disk(tmp_path) == []
