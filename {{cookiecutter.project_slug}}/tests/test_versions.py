"""Airflow and Python versions agree wherever they are written down: the image's base tag
(Dockerfile), the pin in pyproject.toml, uv.lock and .python-version. Change them together."""

from __future__ import annotations

import re
import tomllib

import pytest
from conftest import PROJECT_ROOT


def image() -> dict[str, str]:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    match = re.search(
        r"^FROM apache/airflow:(?P<airflow>[\d.]+)-python(?P<python>\d+\.\d+)$", dockerfile, re.M
    )
    assert match, "the Dockerfile should start FROM apache/airflow:<airflow>-python<python>"
    return match.groupdict()


def test_the_image_has_the_airflow_pyproject_pins() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert f"apache-airflow=={image()['airflow']}" in project["dependencies"]


def test_the_image_has_the_python_of_python_version() -> None:
    assert (PROJECT_ROOT / ".python-version").read_text().strip() == image()["python"]


def test_the_lock_has_the_airflow_of_the_image() -> None:
    lock = PROJECT_ROOT / "uv.lock"
    if not lock.is_file():
        pytest.skip("no uv.lock yet: `make install` creates it")
    packages = tomllib.loads(lock.read_text())["package"]
    assert {p["name"]: p.get("version") for p in packages}["apache-airflow"] == image()["airflow"]
