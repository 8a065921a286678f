"""The demo on a project without the examples: every DAG it has, the user's files kept.

`make demo` itself, on the default bake and as the README's first command, runs in
test_project_tooling.py's module fixture (with the project's own environment); here the bake
without examples runs the same tool with the template's interpreter.
"""

from __future__ import annotations

import sys

import polars as pl
from conftest import bake_ok, run


def test_the_demo_runs_every_dag_and_never_overwrites_the_users_input_files(cookies) -> None:
    project = bake_ok(cookies, include_example_dags=False)
    mine = project / ".airflow" / "data" / "raw" / "orders" / "export.parquet"
    mine.parent.mkdir(parents=True)
    pl.DataFrame({"status": ["active", "active", "shipped"]}).write_parquet(mine)
    before = mine.read_bytes()

    result = run(
        [sys.executable, "-m", "polars_cloud_pipelines.dev", "demo"],
        project,
        timeout=900,
        PYTHONPATH="dags",
        PYTHONDONTWRITEBYTECODE="",
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert "Running orders_by_status for 2026-01-01 with `airflow dags test`" in out
    partition = project / ".airflow" / "data" / "curated" / "orders_by_status" / "ds=2026-01-01"
    assert f"{partition}/ (2 rows)" in out, out  # the user's three orders, two statuses
    assert [path.name for path in mine.parent.iterdir()] == ["export.parquet"]
    assert mine.read_bytes() == before
    assert "Finished in" in out
