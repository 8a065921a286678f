"""Bad answers stop generation with one clear line each and leave nothing behind; hostile and
exotic answers execute nothing and still produce files that parse and read back exactly."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from answer_cases import EXOTIC_TEXT, REFUSED, case_id
from conftest import TEMPLATE, bake_ok, clean_env, run, run_in
from test_bake import MINIMAL_DAGS

# Cookiecutter checks its choice and boolean variables itself, before the template's code
# runs (cookiecutter/generate.py, apply_overwrites_to_context, called by generate_context):
# a ValueError naming the field, the value (and the choices), printed by its command line
# with a traceback. The template cannot intercept it; the hook still checks these answers
# for replayed ones (test_a_replayed_bad_answer_is_refused_by_the_hook).
CHECKED_BY_COOKIECUTTER = {"secrets_backend", "include_example_dags", "ci"}
ERROR_LINE = re.compile(r"ERROR: Invalid (\w+) .+: .+\.")


def _error_lines(result, capfd) -> list[str]:
    # The template's check raises with the lines as its message; the hook prints them.
    text = f"{result.exception or ''}\n{capfd.readouterr().err}"
    return [line for line in text.splitlines() if line.startswith("ERROR:")]


def _left_on_disk(tmp_path: Path) -> list[Path]:
    # pytest-cookies gives each bake an empty output folder, tmp_path/cookies/bakeNN.
    return [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() or not re.fullmatch(r"cookies|bake\d+", p.name)
    ]


@pytest.mark.parametrize(
    ("field", "value", "rule"), REFUSED, ids=[case_id(f, v) for f, v, _ in REFUSED]
)
def test_a_bad_answer_stops_generation_and_leaves_nothing(
    cookies, capfd, tmp_path, field, value, rule
) -> None:
    result = cookies.bake(extra_context={field: value}, template=str(TEMPLATE))

    assert result.exit_code != 0
    if field in CHECKED_BY_COOKIECUTTER:
        assert isinstance(result.exception, ValueError), result.exception
        assert f"{value} provided for" in str(result.exception)
        assert field in str(result.exception)
    else:
        errors = _error_lines(result, capfd)
        # One line for this answer (a bad project_slug also makes the derived package_name
        # bad: that gets its own line), each naming field, value and rule.
        assert errors, result.exception
        assert all(ERROR_LINE.fullmatch(line) for line in errors), errors
        mine = [line for line in errors if line.startswith(f"ERROR: Invalid {field} ")]
        assert len(mine) == 1, errors
        assert rule in mine[0]
    assert _left_on_disk(tmp_path) == []


def _cookiecutter(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The cookiecutter command line, writing to tmp_path/out, its replays in tmp_path."""
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {json.dumps(str(tmp_path / 'replay'))}\n")
    command = [sys.executable, "-m", "cookiecutter", "--config-file", str(config), *args]
    return run([*command, "-o", str(tmp_path / "out")], TEMPLATE, timeout=600)


@pytest.mark.parametrize(
    ("answer", "fields"),
    [
        # The package name derived from a bad slug is bad too, and says so on its own line.
        (f"project_slug={'a' * 300}", ["project_slug", "package_name"]),
        (f"package_name={'a' * 300}", ["package_name"]),
        ("cpus=08", ["cpus"]),
        ("author_name=Smith, John", ["author_name"]),
    ],
    ids=["long-project-slug", "long-package-name", "leading-zero", "comma-in-owner"],
)
def test_the_command_line_prints_one_line_per_answer_and_writes_nothing(
    tmp_path, answer, fields
) -> None:
    result = _cookiecutter(tmp_path, "--no-input", str(TEMPLATE), answer)
    output = (result.stdout + result.stderr).splitlines()
    assert result.returncode == 1
    assert [ERROR_LINE.fullmatch(line)[1] for line in output] == fields, output
    assert not (tmp_path / "out").exists()


def test_the_interactive_prompts_refuse_a_bad_answer_in_one_line(tmp_path) -> None:
    # Every prompt answered from stdin: Enter keeps the default, cpus gets a leading zero.
    visible = [k for k in json.loads((TEMPLATE / "cookiecutter.json").read_text()) if k[0] != "_"]
    typed = "".join("08\n" if key == "cpus" else "\n" for key in visible)
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {json.dumps(str(tmp_path / 'replay'))}\n")
    command = [sys.executable, "-m", "cookiecutter", "--config-file", str(config), str(TEMPLATE)]
    result = subprocess.run(
        [*command, "-o", str(tmp_path / "out")],
        input=typed,
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.rstrip().endswith(
        "ERROR: Invalid cpus '08': must be written without leading zeros "
        "(08 is not a TOML or Python number)."
    )
    assert not (tmp_path / "out").exists()


def test_a_replayed_bad_answer_is_refused_by_the_hook(tmp_path) -> None:
    # A replay file skips cookiecutter's own checks and the answers' check: the
    # pre-generation hook still refuses, one line per answer, and nothing stays on disk.
    good = _cookiecutter(tmp_path, "--no-input", str(TEMPLATE))
    assert good.returncode == 0, good.stderr
    [replayed] = (tmp_path / "replay").glob("*.json")
    answers = json.loads(replayed.read_text())
    answers["cookiecutter"].update(secrets_backend="Environment", cpus="08")
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(answers))
    for project in (tmp_path / "out").iterdir():
        subprocess.run(["rm", "-r", str(project)], check=True)

    result = _cookiecutter(tmp_path, str(TEMPLATE), "--replay-file", str(edited))

    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: Invalid")]
    assert result.returncode == 1
    assert errors == [
        "ERROR: Invalid cpus '08': must be written without leading zeros "
        "(08 is not a TOML or Python number).",
        "ERROR: Invalid secrets_backend 'Environment': must be one of environment, "
        "aws-secrets-manager, hashicorp-vault, gcp-secret-manager.",
    ]
    assert list((tmp_path / "out").iterdir()) == []


def test_the_hook_message_is_one_line_per_problem(cookies, capfd) -> None:
    result = cookies.bake(extra_context={"cpus": "0", "schedule": "never"}, template=str(TEMPLATE))
    assert result.exit_code != 0
    assert _error_lines(result, capfd) == [
        "ERROR: Invalid cpus '0': must be a positive whole number.",
        "ERROR: Invalid schedule 'never': must be one of @once, @hourly, @daily, @weekly, "
        "@monthly, @quarterly, @yearly or a five-field cron expression.",
    ]


# --- accepted answers: every file parses and every value reads back -------------------------


def _parse_every_file(project: Path) -> None:
    for path in project.rglob("*"):
        if path.suffix == ".py":
            ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def _owner(project: Path) -> str:
    [dag_defaults] = project.glob("dags/*/dag_defaults.py")
    module = ast.parse(dag_defaults.read_text(encoding="utf-8"))
    [value] = [
        node.value
        for node in module.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "OWNER"
    ]
    return ast.literal_eval(value)


def _markdown_text(markdown: str) -> list[str]:
    """The text of each block of ``markdown`` as CommonMark (+ strikethrough) shows it."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("strikethrough").parse(markdown)
    inline = [token for token in tokens if token.type == "inline"]
    assert all(child.type == "text" for token in inline for child in token.children), [
        child.type for token in inline for child in token.children
    ]
    return ["".join(child.content for child in token.children) for token in inline]


def _ruff_is_clean(project: Path) -> None:
    ruff = str(Path(sys.executable).with_name("ruff"))
    for command in (
        [ruff, "check", "--no-cache", "."],
        [ruff, "format", "--check", "--no-cache", "."],
    ):
        result = run(command, project)
        assert result.returncode == 0, result.stdout + result.stderr


def test_exotic_free_text_bakes_a_project_that_parses_reads_back_and_passes(cookies) -> None:
    """Also the one suite run of a bake without the example DAGs (test_users_own_dags.py)."""
    project = bake_ok(cookies, **EXOTIC_TEXT, include_example_dags=False)
    assert {p.name for p in (project / "dags").glob("*.py")} == MINIMAL_DAGS

    _parse_every_file(project)
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["description"] == EXOTIC_TEXT["description"]
    assert metadata["authors"] == [{"name": EXOTIC_TEXT["author_name"]}]
    assert _owner(project) == EXOTIC_TEXT["author_name"]
    readme = (project / "README.md").read_text(encoding="utf-8")
    title, description = _markdown_text("\n\n".join(readme.split("\n\n")[:2]))
    assert (title, description) == (EXOTIC_TEXT["project_name"], EXOTIC_TEXT["description"])
    _ruff_is_clean(project)
    suite = run_in(project, "pytest", "-q", "-p", "no:cacheprovider")
    assert suite.returncode == 0, suite.stdout[-3000:]


GUARANTEED = {"package_name": 32, "manifest_name": 40, "polars_cloud_conn_id": 40}
"""Lengths always accepted (the README's prompts section says so)."""


def test_the_longest_accepted_answers_bake_a_lint_clean_project(cookies) -> None:
    from test_pre_gen_hook import VALID

    from local_extensions import answer_problems

    def longest(field: str, unit: str, most: int) -> str:
        low, high = 1, most  # the longest accepted repetition of unit, by bisection
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (
                (middle, high)
                if not answer_problems({**VALID, field: unit * middle})
                else (low, middle - 1)
            )
        return unit * low

    answers = {
        "package_name": longest("package_name", "p", 100),
        "polars_cloud_conn_id": longest("polars_cloud_conn_id", "c", 250),
        "author_name": "数据" * 250,  # 500 characters, each written as a 6-character escape
        "polars_cloud_workspace": longest("polars_cloud_workspace", "w", 63),
        "manifest_name": longest("manifest_name", "m", 63),
        "data_bucket": "s3://" + "b" * 63 + "/" + "p" * 512,
        "cpus": str(2**63 - 1),
        "idle_timeout_mins": str(2**63 - 1),
    }
    # What the README promises whatever the template's lines become: a line that grows past
    # these must be rewrapped instead (the longest accepted names would otherwise shrink).
    assert {name: len(answers[name]) >= least for name, least in GUARANTEED.items()} == {
        name: True for name in GUARANTEED
    }, {name: len(answers[name]) for name in GUARANTEED}
    project = bake_ok(cookies, **answers)

    _parse_every_file(project)
    _ruff_is_clean(project)
    assert _owner(project) == answers["author_name"]


MARKER = "PWNED-BY-ANSWER"
PAYLOAD = f"__import__('pathlib').Path('{MARKER}').touch()"
HOSTILE = {
    "project_name": f'Bobby"; {PAYLOAD}; x="',
    "description": f"Quotes ' \" ''' \"\"\" and \\ back\\\\slashes, {{{{ 7 * 7 }}}}, {PAYLOAD}",
    "author_name": 'O\'Brien "The \\ Hacker" </script> é',
    # The slug derived from that name would make a package name too long for the code's lines.
    "project_slug": "hostile-answers",
}


def _markers(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob(f"*{MARKER}*")]


def test_hostile_free_text_executes_nothing_and_still_parses(
    cookies, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = bake_ok(cookies, **HOSTILE)

    assert _markers(tmp_path, project, TEMPLATE) == []
    _parse_every_file(project)
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    # Cookiecutter renders answers as Jinja ({{ 7 * 7 }} -> 49); beyond that, verbatim.
    assert metadata["description"] == HOSTILE["description"].replace("{{ 7 * 7 }}", "49")
    assert metadata["authors"] == [{"name": HOSTILE["author_name"]}]
    assert _owner(project) == HOSTILE["author_name"]


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


# --- how answers are written: every literal reads back as the answer -----------------------

TRICKY_TEXT = [
    "plain",
    "",
    "quotes \" ' ''' \"\"\" and back\\slashes \\",
    "Données 数据 فريق עברית 🚀 👩\u200d💻 e\u0301",
    "controls \x00 \t \n \r \x1b \x7f \x85 \x9f",
    "separators \u2028 \u2029, bom \ufeff, nonchars \ufffe \uffff",
    "look-alikes O\u2019Brien \u039f\u03bf \uff26 \u00d7 \u2013",
    "bidi \u202e\u2066 overrides \u202c\u2069",
    "html </script> & <b>",
    "long " + "数据" * 80,
]


@pytest.mark.parametrize("text", TRICKY_TEXT, ids=range(len(TRICKY_TEXT)))
def test_tojson_is_valid_json_toml_yaml_and_python(text) -> None:
    from template_answers.literals import json_literal

    literal = json_literal(text)
    assert json.loads(literal) == text
    assert tomllib.loads(f"x = {literal}")["x"] == text
    assert yaml.safe_load(f"x: {literal}")["x"] == text
    assert ast.literal_eval(literal) == text
    literal.encode("utf-8")  # nothing left that UTF-8 cannot write


def test_a_lone_surrogate_is_escaped_not_written() -> None:
    from template_answers.literals import json_literal

    assert json_literal("a\udc80b") == '"a\\udc80b"'
    assert json.loads(json_literal("a\udc80b")) == "a\udc80b"


def test_python_constants_are_ascii_read_back_and_pass_ruff(tmp_path) -> None:
    from template_answers.literals import python_constant

    source = "\n".join(
        python_constant(text, f"TEXT_{n}", width=100) for n, text in enumerate(TRICKY_TEXT)
    )
    module = ast.parse(source)
    assert source.isascii()
    assert [ast.literal_eval(node.value) for node in module.body] == TRICKY_TEXT
    # The generated project's ruff settings (the part of its pyproject.toml without Jinja).
    pyproject = (TEMPLATE / "{{cookiecutter.project_slug}}" / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(pyproject[pyproject.index("[tool.ruff]") :])
    (tmp_path / "constants.py").write_text(source + "\n")
    _ruff_is_clean(tmp_path)


@pytest.mark.parametrize(
    "text", [t for t in TRICKY_TEXT if t and t.isprintable() and t.strip() == t]
)
def test_markdown_text_shows_as_written(text) -> None:
    from template_answers.literals import markdown_text

    assert _markdown_text(markdown_text(text)) == [text]
    assert _markdown_text("# " + markdown_text(text)) == [text]


@pytest.mark.parametrize(
    "text", ["- item", "+ item", "* item", "> quote", "1. first", "2024) year", "---", "# h", "=x"]
)
def test_markdown_text_starts_no_block(text) -> None:
    from template_answers.literals import markdown_text

    assert _markdown_text(markdown_text(text)) == [text]
