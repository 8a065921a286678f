"""Jinja extensions cookiecutter loads for this template (see ``_extensions``).

- ``SandboxedAnswers``: cookiecutter renders every answer given as a default or through
  ``--no-input``/``extra_context`` as a Jinja template, with a plain (unsandboxed)
  environment. An answer such as ``{{ cycler.__init__.__globals__.os.system(...) }}`` would
  therefore run code on the machine that bakes the template. This turns the environment into
  a sandboxed one before anything is rendered, so such an answer stops with a
  ``SecurityError`` instead of executing, while ordinary expressions keep working.
- ``AnswerFilters``: how answers are written into files (``template_answers/literals.py``):
  ``tojson`` (JSON that is also a valid TOML, YAML and Python string), ``python_constant``
  (an assignment as the generated project's ruff formats it) and ``markdown_text``.
- ``CheckedAnswers``: the ``check_answers`` filter, rendered by the private variable
  ``__answers_checked`` once every answer is known. Cookiecutter creates the project folder
  (named from project_slug) before the pre-generation hook runs, and its command line prints a
  hook failure with a traceback; raised here, while cookiecutter is still collecting the
  answers, ``InvalidAnswers`` stops it before anything exists, and the command line prints its
  message alone (``cookiecutter/cli.py`` prints the exceptions it expects, this one's base
  ``FailedHookException`` among them, without a traceback). It also gives the
  pre-generation hook the template's folder (``template_dir``), to run ``answer_problems``
  from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, partial
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import FailedHookException
from jinja2 import Environment, StrictUndefined, Template, TemplateError
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment, safe_range

from template_answers import line_width, problems
from template_answers.literals import json_literal, markdown_text, python_constant

TEMPLATE_DIR = Path(__file__).resolve().parent


class SandboxedAnswers(Extension):
    """Give cookiecutter's environment the attribute and call checks of Jinja's sandbox."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if isinstance(environment, SandboxedEnvironment):
            return
        base = type(environment)
        environment.__class__ = type(f"Sandboxed{base.__name__}", (SandboxedEnvironment, base), {})
        # What SandboxedEnvironment.__init__ would have set up.
        environment.globals["range"] = safe_range
        environment.binop_table = SandboxedEnvironment.default_binop_table.copy()
        environment.unop_table = SandboxedEnvironment.default_unop_table.copy()


def _add_answer_filters(environment: Environment) -> None:
    environment.filters["tojson"] = json_literal
    width = line_width.line_length(TEMPLATE_DIR)
    environment.filters["python_constant"] = partial(python_constant, width=width)
    environment.filters["markdown_text"] = markdown_text


class AnswerFilters(Extension):
    """Filters that write an answer into a file so that the file stays valid."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        _add_answer_filters(environment)


class InvalidAnswers(FailedHookException):
    """One or more answers break a rule; the message has one ``ERROR:`` line per answer."""


def _line_environment() -> Environment:
    environment = Environment(undefined=StrictUndefined)
    _add_answer_filters(environment)
    return environment


@cache
def _line_template(source: str) -> Template | None:
    """One template line, compiled once (a bake checks its answers two or three times)."""
    try:
        return _line_environment().from_string(source)
    except TemplateError:  # the line needs others: a block tag opened or closed elsewhere
        return None


def _render_line(answers: Mapping[str, Any], source: str) -> str | None:
    template = _line_template(source)
    try:
        return None if template is None else template.render(cookiecutter=answers)
    except TemplateError:  # a value other lines define (a loop variable, a later key)
        return None


def answer_problems(answers: Mapping[str, Any]) -> list[str]:
    """``template_answers.problems`` for this template, rendering lines as the bake does."""
    return problems(answers, TEMPLATE_DIR, partial(_render_line, answers))


def check_answers(answers: Mapping[str, Any]) -> str:
    if errors := answer_problems(answers):
        raise InvalidAnswers("\n".join(f"ERROR: {error}" for error in errors))
    return "yes"


class CheckedAnswers(Extension):
    """Refuse invalid answers before cookiecutter writes anything."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["check_answers"] = check_answers
        environment.globals["template_dir"] = str(TEMPLATE_DIR)
