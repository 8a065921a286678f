"""The failure-mode map (docs/failure-modes.md) names tests that exist, and the provider's
declared version, changelog and connection form agree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import polars_cloud_provider
from conftest import PROVIDER_ROOT
from polars_cloud_provider.get_provider_info import get_provider_info

# `test_file.py::test_name`, or `::test_name` for another test in the file named before it.
_REFERENCE = re.compile(r"`(test_\w+\.py)?::(test_\w+)`")


def _test_functions(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_test_the_failure_map_names_exists() -> None:
    section = (PROVIDER_ROOT / "docs" / "failure-modes.md").read_text()
    named, current = [], None
    for file, test in _REFERENCE.findall(section):
        current = file or current
        named.append((current, test))
    assert len(named) >= 20, "the failure-mode map is missing or unreadable"
    missing = [
        f"{file}::{test}"
        for file, test in named
        if test not in _test_functions(PROVIDER_ROOT / "tests" / file)
    ]
    assert missing == []


def test_the_version_is_declared_and_in_the_changelog() -> None:
    version = polars_cloud_provider.__version__
    assert get_provider_info()["versions"] == [version]
    assert f"## {version}\n" in (PROVIDER_ROOT / "CHANGELOG.md").read_text()


def test_every_option_of_the_config_section_has_a_setting() -> None:
    from polars_cloud_provider import settings

    options = get_provider_info()["config"]["polars_cloud"]["options"]
    assert set(options) == set(settings.DEFAULTS) == set(settings.Settings.__dataclass_fields__)
