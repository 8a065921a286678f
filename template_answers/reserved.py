"""The top-level module names a generated package must not take, and where each comes from.

The package lives in ``dags/``, which is on ``sys.path`` in every Airflow process (and in the
project's tests): a package named ``json``, ``yaml`` or ``moto`` hides the real module from
everything that imports it. Three sources, read when the template is baked:

- ``reserved_modules.txt``, written by ``refresh_reserved_modules.py`` from the template's
  locked environment: Python's own modules for the project's Python, and every top-level
  module installed by the generated project's dependencies (every secrets backend, the dev
  group included). Computing it needs Airflow installed, which the interpreter running
  cookiecutter (``uvx cookiecutter``) does not have, hence a file;
- the running interpreter's standard library (it may be newer than the project's), its test
  packages included (``test``, ``_testcapi``: ``sys.stdlib_module_names`` leaves them out);
- the project's own top-level modules: its folders and the modules in ``dags/`` and
  ``tests/`` (both on ``sys.path`` in its tests), read from the template itself.
"""

from __future__ import annotations

import importlib.machinery
import re
import sys
import sysconfig
from collections.abc import Mapping
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).with_name("reserved_modules.txt")
PYTHON = "python"  # the origin recorded for Python's own modules
PROJECT_DIR = "{{cookiecutter.project_slug}}"
# Folders of the generated project whose modules are importable by their bare name.
MODULE_FOLDERS = ("dags", "tests")

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JINJA_TAG = re.compile(r"\{%.*?%\}")
MODULE_SUFFIXES = tuple(importlib.machinery.all_suffixes())


def read_data_file(path: Path = DATA_FILE) -> dict[str, str]:
    """``{module: origin}`` from the data file (``name origin`` lines, ``#`` comments)."""
    names = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, origin = line.split(maxsplit=1)
            names[name] = origin
    return names


def project_modules(template_dir: Path) -> dict[str, str]:
    """The generated project's own top-level modules, from the template's file names."""
    project = template_dir / PROJECT_DIR
    names = {}
    for path in sorted(project.iterdir()):
        if path.is_dir() and IDENTIFIER.fullmatch(path.name):
            names[path.name] = f"project:{path.name}/"
    for folder in MODULE_FOLDERS:
        for path in sorted((project / folder).iterdir()):
            rendered = _JINJA_TAG.sub("", path.name)  # "{% if ... %}name.py{% endif %}"
            if path.is_file() and rendered.endswith(".py"):
                names[rendered.removesuffix(".py")] = f"project:{folder}/{rendered}"
    return names


def running_python_modules() -> set[str]:
    """The running interpreter's own modules, including what its stdlib folder holds."""
    names = {*sys.stdlib_module_names, *sys.builtin_module_names}
    stdlib = Path(sysconfig.get_path("stdlib"))
    for folder in (stdlib, stdlib / "lib-dynload"):
        for path in folder.iterdir() if folder.is_dir() else ():
            if path.name.endswith(MODULE_SUFFIXES) or (path / "__init__.py").is_file():
                names.add(path.name.split(".", 1)[0])
    return {name for name in names if IDENTIFIER.fullmatch(name)}


@cache
def reserved_modules(template_dir: Path) -> Mapping[str, str]:
    """Every reserved top-level name, mapped to where it comes from."""
    running_python = dict.fromkeys(running_python_modules(), PYTHON)
    return {**running_python, **read_data_file(), **project_modules(template_dir)}


def describe(origin: str) -> str:
    """How an error message names an origin recorded by ``reserved_modules``."""
    if origin == PYTHON:
        return "of Python itself"
    if origin.startswith("project:"):
        return f"of the project ({origin.removeprefix('project:')})"
    distributions = origin.split(",")
    shown = ", ".join(distributions[:2])
    more = f" and {len(distributions) - 2} more" if len(distributions) > 2 else ""
    return f"installed by {shown}{more}"
