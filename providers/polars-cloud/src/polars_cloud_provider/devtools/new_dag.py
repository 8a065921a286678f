"""``make new-dag NAME=<dag_id> PATTERN=single|parallel|multistage``: a new DAG that works, its
queries, their test and sample data, from the project's patterns (docs/design-devtools.md)."""

from __future__ import annotations

import importlib.util
import keyword
import re
import subprocess
import sys
from pathlib import Path
from string import Template

from polars_cloud_provider.devtools.project import Project

PATTERNS = ("single", "parallel", "multistage")
USAGE = f"usage: make new-dag NAME=<dag_id> PATTERN={'|'.join(PATTERNS)}"
MAX_LENGTH = 40
_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Refused(ValueError):
    """The name or the pattern cannot be used; the message says why, in one line."""


def files_for(project: Project, name: str, pattern: str) -> dict[Path, str]:
    """What ``make new-dag`` writes for ``name`` and ``pattern``: path -> content."""
    values = {"dag_id": name, "input": f"{name}_input"}
    sources = {
        project.root / "dags" / f"{name}.py": f"{pattern}.py.tmpl",
        project.root / "dags" / project.package / "queries" / f"{name}.py": "queries.py.tmpl",
        project.root / "tests" / f"test_queries_{name}.py": "test_queries.py.tmpl",
        project.samples_dir / f"{name}_input.py": "sample.py.tmpl",
    }
    return {
        path: Template((project.patterns_dir / template).read_text()).substitute(values)
        for path, template in sources.items()
    }


def check(project: Project, name: str, pattern: str) -> None:
    """Raise ``Refused`` unless ``name`` and ``pattern`` make a new DAG that fits."""
    if not name or not pattern:
        raise Refused(USAGE)
    if pattern not in PATTERNS:
        raise Refused(f"PATTERN={pattern!r} is not a pattern: use one of {', '.join(PATTERNS)}.")
    if not _NAME.fullmatch(name) or keyword.iskeyword(name) or len(name) > MAX_LENGTH:
        raise Refused(
            f"NAME={name!r} cannot be a DAG id here: use lower-case letters, digits and "
            f"underscores, starting with a letter, at most {MAX_LENGTH} characters."
        )
    taken = [path for path in files_for(project, name, pattern) if path.exists()]
    if taken:
        raise Refused(f"NAME={name!r} is taken: {project.relative(taken[0])} exists.")
    if importlib.util.find_spec(name) is not None:
        raise Refused(f"NAME={name!r} would hide the Python module {name!r}: choose another.")


def create(project: Project, name: str, pattern: str) -> list[Path]:
    """Write the new DAG's files, all or none of them; return their paths."""
    check(project, name, pattern)
    written: list[Path] = []
    try:
        for path, content in files_for(project, name, pattern).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x") as file:  # never over a file that appeared meanwhile
                written.append(path)
                file.write(content)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    if importlib.util.find_spec("ruff") is not None:  # fit long names, as make format would
        command = [sys.executable, "-m", "ruff", "format", "--quiet", *map(str, written)]
        subprocess.run(command, check=False)
    return written


def main(project: Project, argv: list[str]) -> int:
    name, pattern = [*argv, "", ""][:2]
    try:
        written = create(project, name.strip(), pattern.strip())
    except Refused as refusal:
        print(refusal, file=sys.stderr)
        return 2
    print(f"New {pattern} DAG {name!r}:")
    for path in written:
        print(f"  {project.relative(path)}")
    print(f"Next: make test, then make run DAG={name} to see its output.")
    return 0
