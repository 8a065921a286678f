"""Finish the project cookiecutter has written.

1. Vendor the provider: copy the ``airflow-provider-polars-cloud`` distribution of this
   repository (``providers/polars-cloud``: its metadata and source, not its tests) to the
   project's ``vendor/``, where its ``pyproject.toml`` installs it from until it is published.
2. Tidy up: optional files have conditional names, and cookiecutter skips a file whose name
   renders empty, but it still creates the folders on the way to it: without GitHub Actions,
   a project would carry an empty ``.github/workflows/``. The folders listed below are
   removed, and only when they are empty.

The template's folder arrives as JSON data (``| tojson``), never as code.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

# Folders that exist only for optional files, deepest first.
OPTIONAL_FOLDERS = (".github/workflows", ".github")
PROVIDER = Path("providers") / "polars-cloud"
VENDORED = Path("vendor") / "airflow-provider-polars-cloud"
PROVIDER_FILES = ("pyproject.toml", "README.md", "CHANGELOG.md", "docs", "src")


def remove_empty_folders(project: Path, folders: Iterable[str] = OPTIONAL_FOLDERS) -> list[str]:
    """Remove each listed folder of ``project`` that is empty; return the ones removed."""
    removed = []
    for relative in folders:
        folder = project / relative
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            removed.append(relative)
    return removed


def vendor_provider(template: Path, project: Path) -> Path:
    """Copy the provider's distribution from ``template`` into ``project``; return where."""
    source = template / PROVIDER
    target = project / VENDORED
    if not (source / "pyproject.toml").is_file():
        raise FileNotFoundError(f"The template has no provider at {source}")
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.py[cod]")
    for name in PROVIDER_FILES:
        item = source / name
        if item.is_dir():
            shutil.copytree(item, target / name, ignore=ignore)
        else:
            shutil.copy2(item, target / name)
    return target


def main(template: str) -> int:
    # Cookiecutter runs this hook inside the generated project.
    project = Path.cwd()
    try:
        vendor_provider(Path(template), project)
    except OSError as error:
        print(f"ERROR could not copy the provider into the project: {error}", file=sys.stderr)
        return 1
    remove_empty_folders(project)
    return 0


if __name__ == "__main__":
    # The template's folder, as the pre-generation hook reads it (local_extensions.py).
    sys.exit(main(json.loads(r"""[{{ template_dir | tojson }}]""")[0]))
