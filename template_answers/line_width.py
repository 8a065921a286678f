"""Answers that would make a line of the generated Python code too long for its linter.

The generated project runs ``ruff check`` and ``ruff format --check`` (pre-commit, CI) with
the line length of its pyproject.toml. A long package name makes its imports wider than
that, which ruff then reports (E501) or wants rewrapped (I001, the formatter); so would a
long connection id in a docstring. Rather than a fixed length per answer, each line of the
template's Python files that holds an answer is rendered on its own with the actual answers
and measured as ruff measures it (wide characters count twice; a line that is a single word,
or ends with a URL starting within the limit, is allowed longer). The limit therefore follows
the template as its files change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .reserved import PROJECT_DIR

_LINE_LENGTH = re.compile(r"^line-length\s*=\s*(\d+)", re.MULTILINE)
_ANSWER = re.compile(r"cookiecutter\.([a-z]\w*)")
_JINJA_BLOCK = re.compile(r"\{%.*?%\}")


@dataclass(frozen=True)
class TemplateLine:
    path: str  # relative to the generated project, with "<package_name>" for the folder
    number: int
    source: str
    answers: frozenset[str]


@cache
def line_length(template_dir: Path) -> int:
    """The generated project's ruff line length (``[tool.ruff] line-length``)."""
    pyproject = (template_dir / PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8")
    return int(_LINE_LENGTH.search(pyproject)[1])


@cache
def answer_lines(template_dir: Path) -> tuple[TemplateLine, ...]:
    """The template's Python lines that show an answer (and those of the Python templates
    of ``make new-dag``)."""
    project = template_dir / PROJECT_DIR
    lines = []
    for path in sorted(project.rglob("*")):
        shown_path = _JINJA_BLOCK.sub("", str(path.relative_to(project)))  # {% if %}x.py...
        shown_path = shown_path.replace("{{cookiecutter.package_name}}", "<package_name>")
        # Also the templates make new-dag writes DAG files from (patterns/*.py.tmpl).
        if not (path.is_file() and shown_path.endswith((".py", ".py.tmpl"))):
            continue
        for number, source in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if answers := frozenset(_ANSWER.findall(source)):
                lines.append(TemplateLine(shown_path, number, source, answers))
    return tuple(lines)


def width(line: str) -> int:
    """Columns ``line`` takes, as ruff counts them: wide characters 2, zero-width ones 0."""
    return sum(
        2
        if unicodedata.east_asian_width(c) in "WF"
        else 0
        if unicodedata.category(c) in {"Mn", "Me", "Cf"}
        else 1
        for c in line
    )


def _too_wide(line: str, limit: int) -> bool:
    if width(line) <= limit:
        return False
    chunks = line.split()
    if len(chunks) == 1:
        return False
    last = chunks[-1]
    return not ("://" in last and width(line[: line.rindex(last)]) < limit)


def overlong(
    template_dir: Path, answers: Mapping[str, Any], render: Callable[[str], str | None]
) -> dict[str, str]:
    """``{answer: problem}`` for the answers that make a generated line too wide.

    ``render`` renders one template line with the answers, or returns None when the line
    cannot be rendered alone (a block tag opened or closed on another line).
    """
    limit = line_length(template_dir)
    problems: dict[str, tuple[int, str]] = {}
    for line in answer_lines(template_dir):
        rendered = render(line.source)
        if rendered is None:
            continue
        widest = max(width(part) for part in rendered.splitlines() or [""])
        if not any(_too_wide(part, limit) for part in rendered.splitlines()):
            continue
        for answer in line.answers & set(answers):
            if widest > problems.get(answer, (0, ""))[0]:
                problems[answer] = (
                    widest,
                    f"makes line {line.number} of {line.path} {widest} columns wide, over "
                    f"the {limit} that the generated project's ruff allows: choose a shorter one",
                )
    return {answer: problem for answer, (_, problem) in problems.items()}
