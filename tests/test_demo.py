"""`make demo` on a freshly generated project: the first command a new user runs."""

from __future__ import annotations

import pytest
from conftest import bake_ok, run


@pytest.mark.parametrize(
    ("examples", "report", "report_rows"),
    [(True, "daily_report", 8), (False, "orders_by_status", 4)],
    ids=["examples", "minimal"],
)
def test_make_demo_runs_end_to_end_with_no_configuration(
    cookies, examples, report, report_rows
) -> None:
    project = bake_ok(cookies, include_example_dags=examples)

    result = run(["make", "demo"], project, timeout=900)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    partition = project / ".airflow" / "data" / "curated" / report / "ds=2026-01-01"
    assert f"{partition}/ ({report_rows} rows)" in out, out
    assert "Demo finished in" in out
    assert (partition / "part-0.parquet").is_file()
    assert (project / ".venv").is_dir(), "make demo creates the environment when missing"
