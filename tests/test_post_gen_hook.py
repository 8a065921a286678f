"""The post-generation hook, imported and called directly on folders made for the test."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from conftest import TEMPLATE

spec = importlib.util.spec_from_file_location(
    "post_gen_project", TEMPLATE / "hooks" / "post_gen_project.py"
)
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)


def test_empty_optional_folders_are_removed_deepest_first(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    assert hook.remove_empty_folders(tmp_path) == [".github/workflows", ".github"]
    assert list(tmp_path.iterdir()) == []


def test_a_folder_with_a_file_is_kept(tmp_path: Path) -> None:
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: CI\n")
    assert hook.remove_empty_folders(tmp_path) == []
    assert workflow.read_text() == "name: CI\n"


def test_only_the_listed_folders_are_touched(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / ".github" / "ISSUE_TEMPLATE").mkdir(parents=True)
    assert hook.remove_empty_folders(tmp_path) == []
    assert (tmp_path / "dags").is_dir()
    assert (tmp_path / ".github" / "ISSUE_TEMPLATE").is_dir()


def test_main_vendors_the_provider_and_tidies_the_current_folder(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert hook.main(str(TEMPLATE)) == 0
    assert not (tmp_path / ".github").exists()
    vendored = tmp_path / "vendor" / "airflow-provider-polars-cloud"
    source = TEMPLATE / "providers" / "polars-cloud"
    assert (vendored / "pyproject.toml").read_bytes() == (source / "pyproject.toml").read_bytes()
    copied = {p.relative_to(vendored) for p in vendored.rglob("*.py")}
    shipped = {p.relative_to(source) for p in (source / "src").rglob("*.py")}
    assert copied == shipped


def test_a_template_without_the_provider_stops_the_bake(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    assert hook.main(str(tmp_path / "not-a-template")) == 1
    assert "could not copy the provider" in capsys.readouterr().err
    assert not (project / "vendor").exists()


def test_the_hook_reads_only_the_template_folder_as_json() -> None:
    source = (TEMPLATE / "hooks" / "post_gen_project.py").read_text()
    assert source.count("{{") == 1
    assert "{{ template_dir | tojson }}" in source
    assert "{%" not in source
