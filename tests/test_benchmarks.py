"""The benchmark script runs end to end (smoke sizes) and fills every row of its table.

Numbers, not timed tests: nothing here compares a figure with a goal. The one comparison
checks the measurement itself: a DAG file that imports polars at the top cannot parse as
fast as a trivial one, or the parse benchmark is not executing the files.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from conftest import TEMPLATE, run
from test_bake import EXAMPLE_DAGS, MINIMAL_DAGS

NUMBER = r"\d+(?:\.\d+)?"
PARSED_FILES = [
    "trivial one-task DAG (baseline)",
    *sorted(EXAMPLE_DAGS),
    *(f"{name} (bake without examples)" for name in sorted(MINIMAL_DAGS)),
    "guide-style DAG file",
]
THROUGHPUT = [
    f"local backend vs Polars: {query}, 10k rows"
    for query in ("revenue_by_category", "sales_with_revenue", "daily_report")
]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> tuple[str, list[dict[str, str]]]:
    out = tmp_path_factory.mktemp("benchmarks") / "rows.json"
    result = run([sys.executable, "benchmarks/run.py", "--smoke", "--json", str(out)], TEMPLATE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout, json.loads(out.read_text())


def table(stdout: str) -> dict[str, list[str]]:
    lines = [line.strip().strip("|") for line in stdout.splitlines() if line.startswith("| ")]
    header, separator, *rows = [[cell.strip() for cell in line.split("|")] for line in lines]
    assert header == ["benchmark", "measured", "ratio", "goal", "result"]
    assert set(separator) == {"---"}
    assert all(len(row) == len(header) for row in rows), rows
    return {row[0]: row[1:] for row in rows}


def test_the_table_says_when_and_where(smoke) -> None:
    stdout, _ = smoke
    assert re.search(r"^Benchmarks, smoke run.*\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", stdout, re.M)
    assert re.search(r"^Machine: \d+ cores", stdout, re.M)


@pytest.mark.parametrize("name", PARSED_FILES)
def test_every_dag_file_has_a_parse_time_and_a_ratio(smoke, name) -> None:
    rows = table(smoke[0])
    for benchmark in (f"parse: {name}", f"airflow dags report: {name}"):
        measured, ratio, _, _ = rows[benchmark]
        assert re.fullmatch(rf"{NUMBER} ms \(median of \d+\)", measured), (benchmark, measured)
        assert re.fullmatch(rf"{NUMBER}x", ratio), (benchmark, ratio)


def test_the_parse_benchmark_executes_the_files(smoke) -> None:
    rows = table(smoke[0])
    for tool in ("parse", "airflow dags report"):
        guide_ratio = float(rows[f"{tool}: guide-style DAG file"][1].rstrip("x"))
        assert guide_ratio > 2, f"{tool}: importing polars at the top cost nothing?"


@pytest.mark.parametrize("name", THROUGHPUT)
def test_throughput_rows_have_both_rates_and_a_ratio(smoke, name) -> None:
    measured, ratio, goal, _ = table(smoke[0])[name]
    assert re.fullmatch(rf"{NUMBER} vs {NUMBER} M rows/s \({NUMBER} vs {NUMBER} ms\)", measured)
    assert re.fullmatch(rf"{NUMBER}x", ratio)
    assert goal == ">= 0.9x"


def test_suite_rows(smoke) -> None:
    rows = table(smoke[0])
    generated = rows["generated project's test suite (tests/test_queries_orders.py)"][0]
    assert re.fullmatch(rf"{NUMBER} s \(\d+ passed\)", generated), generated
    assert rows["template's test suite"][0] == "not run (smoke)"


def test_json_output_matches_the_table(smoke) -> None:
    stdout, rows = smoke
    assert {row["benchmark"]: row["measured"] for row in rows} == {
        name: cells[0] for name, cells in table(stdout).items()
    }


def test_size_rows_count_the_lines_of_the_provider_and_the_bake(smoke) -> None:
    rows = table(smoke[0])
    source = TEMPLATE / "providers" / "polars-cloud" / "src"
    lines = sum(len(path.read_text().splitlines()) for path in source.rglob("*.py"))
    provider, _, goal, result = rows["provider code (all of its src/)"]
    assert provider.startswith(f"{lines:,} lines ("), provider
    assert result == ("met" if lines < 5_079 else "MISSED"), goal
    for name in ("generated Python outside tests/", "generated tests/"):
        measured = rows[f"{name} (default bake)"][0]
        assert re.fullmatch(
            r"[\d,]+ lines \([\d,]+ without blanks, comments, docstrings\)", measured
        )


def test_the_generated_size_counts_what_the_bake_wrote_only(tmp_path, monkeypatch) -> None:
    """A full run's bakes get an environment (``uv sync`` for ``make test``) before the sizes
    are counted: its ``.venv`` and the vendored provider are not the bake's code."""
    monkeypatch.syspath_prepend(str(TEMPLATE / "benchmarks"))
    import run as benchmarks

    for name in ("dags/a.py", "tests/test_a.py", ".venv/lib/b.py", "vendor/p/src/c.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('"""Doc."""\n\nX = 1\n')
    rows = {row.benchmark: row.measured for row in benchmarks._size_rows(tmp_path)}
    assert rows["generated Python outside tests/ (default bake)"].startswith("3 lines (1 ")
    assert rows["generated tests/ (default bake)"].startswith("3 lines (1 ")
