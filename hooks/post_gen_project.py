"""Tidy up after cookiecutter has written the project.

Optional files have conditional names, and cookiecutter skips a file whose name renders
empty, but it still creates the folders on the way to it: without GitHub Actions, a project
would carry an empty ``.github/workflows/``. This hook removes the folders listed below, and
only when they are empty. It reads no answers and writes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

# Folders that exist only for optional files, deepest first.
OPTIONAL_FOLDERS = (".github/workflows", ".github")


def remove_empty_folders(project: Path, folders: Iterable[str] = OPTIONAL_FOLDERS) -> list[str]:
    """Remove each listed folder of ``project`` that is empty; return the ones removed."""
    removed = []
    for relative in folders:
        folder = project / relative
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            removed.append(relative)
    return removed


def main() -> int:
    # Cookiecutter runs this hook inside the generated project.
    remove_empty_folders(Path.cwd())
    return 0


if __name__ == "__main__":
    sys.exit(main())
