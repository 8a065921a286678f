"""The map of failure modes (docs/failure-modes.md) names tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import PROJECT_ROOT

# `test_file.py::test_name`, or `::test_name` for another test in the file named before it.
_REFERENCE = re.compile(r"`(test_\w+\.py)?::(test_\w+)`")


def test_every_test_the_readme_names_exists() -> None:
    section = (PROJECT_ROOT / "docs" / "failure-modes.md").read_text()
    named, current = [], None
    for file, test in _REFERENCE.findall(section):
        current = file or current
        named.append((current, test))
    assert len(named) >= 10, "the failure-mode map is missing or unreadable"
    missing = [
        f"{file}::{test}"
        for file, test in named
        if test not in _test_functions(PROJECT_ROOT / "tests" / file)
    ]
    assert missing == []


def _test_functions(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
