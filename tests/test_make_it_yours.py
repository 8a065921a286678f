"""A bake made the user's own by following docs/customize.md's "From the examples to your own
data" literally: the examples deleted, datasets of its own (flights, partitioned by day, and a
lookup table of airlines, static), a start date in 2013, a DAG from `make new-dag` whose query
is rewritten, exact expectations of its own, and real files in the local data root. Its own
suite must pass, run as the user runs it; the tests below check what each step promises.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
from pathlib import Path

import pytest
from conftest import run
from test_users_own_dags import SUITE, WRITE_BYTECODE, copy_of, failures

PACKAGE = "polars_cloud_pipelines"
EXAMPLES = (
    "complete_pipeline",
    "multistage_pipeline",
    "parallel_queries",
    "revenue_shares",
    "single_query_awaited",
    "single_query_fire_and_forget",
)
START = "2013-01-01"
REAL_DAY = "2013-01-02"
FLIGHTS_SAMPLE = '''"""Sample flights: a folder a day, a carrier and a departure delay a flight."""

from __future__ import annotations

import random
from datetime import date

import polars as pl

CARRIERS = ["AA", "DL", "UA", "WN", "B6", "AS"]


def frame(rows: int, seed: int, ds: date) -> pl.DataFrame:
    rng = random.Random(f"{seed}-{ds.isoformat()}")
    return pl.DataFrame(
        {
            "flight_date": [ds] * rows,
            "carrier": [rng.choice(CARRIERS) for _ in range(rows)],
            "dep_delay": [
                None if rng.random() < 0.05 else round(rng.uniform(-10, 120), 1)
                for _ in range(rows)
            ],
        },
        schema={"flight_date": pl.Date, "carrier": pl.String, "dep_delay": pl.Float64},
    )
'''
AIRLINES = [
    ("9E", "Endeavor Air"),
    ("AA", "American Airlines"),
    ("AS", "Alaska Airlines"),
    ("B6", "JetBlue Airways"),
    ("DL", "Delta Air Lines"),
    ("EV", "ExpressJet Airlines"),
    ("F9", "Frontier Airlines"),
    ("FL", "AirTran Airways"),
    ("HA", "Hawaiian Airlines"),
    ("MQ", "Envoy Air"),
    ("OO", "SkyWest Airlines"),
    ("UA", "United Air Lines"),
    ("US", "US Airways"),
    ("VX", "Virgin America"),
    ("WN", "Southwest Airlines"),
    ("YV", "Mesa Airlines"),
]
AIRLINES_SAMPLE = f'''"""The airlines: a lookup table of 16 fixed rows (datasets.STATIC)."""

from __future__ import annotations

from datetime import date

import polars as pl

AIRLINES = {AIRLINES!r}


def frame(rows: int, seed: int, ds: date) -> pl.DataFrame:
    return pl.DataFrame(AIRLINES, schema=["carrier", "name"], orient="row")
'''
QUERIES = '''"""Mean departure delay per airline."""

from __future__ import annotations

import polars as pl


def mean_delay_by_airline(flights: pl.LazyFrame, airlines: pl.LazyFrame) -> pl.LazyFrame:
    return (
        flights.filter(pl.col("dep_delay").is_not_null())
        .group_by("carrier")
        .agg(pl.col("dep_delay").mean().alias("mean_delay"), pl.len().alias("flights"))
        .join(airlines, on="carrier")
        .select("name", "mean_delay", "flights")
        .sort("name")
    )
'''
EXPECTED = """def flight_delays(inputs: dict[str, Rows]) -> tuple[dict, list[tuple]]:
    names = {row["carrier"]: row["name"] for row in inputs["airlines"]}
    delays: dict[str, list[float]] = defaultdict(list)
    for row in inputs["flights"]:
        if row["dep_delay"] is not None:
            delays[row["carrier"]].append(row["dep_delay"])
    schema = {"name": pl.String, "mean_delay": pl.Float64, "flights": pl.get_index_type()}
    return schema, sorted((names[c], sum(d) / len(d), len(d)) for c, d in delays.items())


OUTPUTS: dict[str, Callable[[dict[str, Rows]], tuple[dict, list[tuple]]]] = {
    "flight_delays": flight_delays,
}
"""


def replace(path: Path, old: str, new: str, *, pattern: bool = False) -> None:
    """Edit ``path`` as the docs say, failing if ``old`` is not there any more."""
    text = path.read_text()
    edited = re.sub(old, new, text, flags=re.S) if pattern else text.replace(old, new)
    assert edited != text, f"{path.name} no longer has {old!r}"
    path.write_text(edited)


def python(project: Path, *args: str, timeout: float = 900):
    """``python -m <args>`` in the project as its Makefile runs it (the template's env)."""
    return run([sys.executable, "-m", *args], project, timeout, PYTHONPATH="dags", **WRITE_BYTECODE)


def delete_the_examples(project: Path) -> None:
    """Step 1."""
    package = project / "dags" / PACKAGE
    for dag_id in EXAMPLES:
        (project / "dags" / f"{dag_id}.py").unlink()
    for name in ("orders", "daily_report", "revenue_shares"):
        (package / "queries" / f"{name}.py").unlink()
    for name in ("orders", "daily_report"):
        (project / "tests" / f"test_queries_{name}.py").unlink()
    for name in ("orders", "sales", "inventory", "returns"):
        (package / "samples" / f"{name}.py").unlink()
    replace(package / "datasets.py", 'frozenset({"inventory"})', "frozenset()")
    replace(
        project / "tests" / "expected.py",
        r"OUTPUTS: dict\[.*?\n\}\n",
        "OUTPUTS: dict[str, Callable[[dict[str, Rows]], tuple[dict, list[tuple]]]] = {}\n",
        pattern=True,
    )


@pytest.fixture(scope="module")
def yours(default_project, tmp_path_factory) -> Path:
    """The default bake taken through every step of the docs."""
    project = copy_of(default_project, tmp_path_factory.mktemp("yours") / "project")
    package = project / "dags" / PACKAGE
    delete_the_examples(project)
    # 2. datasets: flights by day, airlines a lookup table
    replace(
        package / "datasets.py",
        "PARTITIONED_BY_DS = frozenset()",
        'PARTITIONED_BY_DS = frozenset({"flights"})',
    )
    replace(
        package / "datasets.py",
        "STATIC: frozenset[str] = frozenset()",
        'STATIC: frozenset[str] = frozenset({"airlines"})',
    )
    # 3. their sample data
    (package / "samples" / "flights.py").write_text(FLIGHTS_SAMPLE)
    (package / "samples" / "airlines.py").write_text(AIRLINES_SAMPLE)
    # 4. the start date
    replace(
        package / "dag_defaults.py",
        "datetime(2026, 1, 1, tzinfo=UTC)",
        "datetime(2013, 1, 1, tzinfo=UTC)",
    )
    # 5. a DAG of its own: make new-dag, then its inputs and its query rewritten
    made = python(project, f"{PACKAGE}.dev", "new-dag", "flight_delays", "single")
    assert made.returncode == 0, made.stdout + made.stderr
    dag_file = project / "dags" / "flight_delays.py"
    replace(dag_file, 'INPUT = "flight_delays_input"\n', "")
    replace(
        dag_file,
        "queries.totals_by_category(datasets.source(INPUT, ds))",
        "queries.mean_delay_by_airline(\n"
        '            datasets.source("flights", ds), datasets.source("airlines")\n'
        "        )",
    )
    (package / "queries" / "flight_delays.py").write_text(QUERIES)
    (package / "samples" / "flight_delays_input.py").unlink()
    replace(
        project / "tests" / "expected.py",
        "OUTPUTS: dict[str, Callable[[dict[str, Rows]], tuple[dict, list[tuple]]]] = {}\n",
        EXPECTED,
    )
    return project


@pytest.fixture(scope="module")
def suite_output(yours) -> str:
    result = run([sys.executable, "-m", *SUITE], yours, timeout=1800, **WRITE_BYTECODE)
    output = result.stdout + result.stderr
    assert result.returncode == 0, failures(output)
    return output


def test_the_docs_say_how_to_make_the_repo_yours(default_project) -> None:
    steps = (default_project / "docs" / "customize.md").read_text()
    assert "## From the examples to your own data, step by step" in steps
    flat = " ".join(steps.split())
    for promise in (
        "**Delete the examples**",
        "`STATIC`",
        "`PARTITIONED_BY_DS`",
        "**Set the start date**: `START_DATE`",
        "**Point at real data**",
        "empty `OUTPUTS` in `tests/expected.py`",
    ):
        assert promise in flat, promise


def test_the_suite_of_a_project_made_yours_by_the_docs_passes(suite_output) -> None:
    e2e = "tests/test_e2e_local.py::test_the_dag_runs_on_sample_data_and_fills_every_output"
    assert f"PASSED {e2e}[flight_delays]" in suite_output


def test_a_run_without_a_logical_date_reading_a_day_fails_at_once(suite_output) -> None:
    """Point 1: flights is partitioned by day; a run with no logical date is not retried."""
    test = "tests/test_dag_runs.py::test_a_run_without_a_logical_date_fails_at_once_naming_it"
    assert f"PASSED {test}[flight_delays]" in suite_output


def test_a_static_dataset_need_not_vary_with_the_seed(suite_output) -> None:
    test = "tests/test_sample_data.py::test_same_arguments_same_rows_other_seed_or_day_other_rows"
    assert f"PASSED {test}[airlines]" in suite_output
    assert f"PASSED {test}[flights]" in suite_output


def test_the_new_dags_test_follows_the_rewritten_query(yours, suite_output, tmp_path) -> None:
    """Point 5: it passed on the rewritten query; it fails, naming Polars' error, on a
    broken one."""
    test = "tests/test_queries_flight_delays.py::test_its_queries_build_against_its_inputs_schemas"
    assert f"PASSED {test}" in suite_output
    broken = copy_of(yours, tmp_path / "broken")
    replace(
        broken / "dags" / PACKAGE / "queries" / "flight_delays.py",
        '.select("name",',
        '.select("airline_name",',
    )

    result = run([sys.executable, "-m", *SUITE, test], broken, timeout=900, **WRITE_BYTECODE)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "ColumnNotFoundError" in result.stdout and "airline_name" in result.stdout


def test_no_shipped_test_hardcodes_the_start_date(default_project) -> None:
    """Point 2: the start date is dag_defaults.START_DATE, documented in settings.md."""
    hardcoded = [
        path.name
        for path in (default_project / "tests").glob("*.py")
        if "2026-01-01" in path.read_text() or "datetime(2026, 1, 1" in path.read_text()
    ]
    assert hardcoded == []
    settings = (default_project / "docs" / "settings.md").read_text()
    assert "| `START_DATE` |" in settings


def test_real_files_in_the_local_data_root_are_what_make_run_reads(yours, suite_output) -> None:
    """Step 6, on a day before 2026: the user's own files, not sample data, are read."""
    import polars as pl

    root = yours / ".airflow" / "data" / "raw"
    flights = root / "flights" / f"ds={REAL_DAY}"
    flights.mkdir(parents=True)
    pl.DataFrame(
        {
            "flight_date": [REAL_DAY] * 3,
            "carrier": ["AA", "AA", "DL"],
            "dep_delay": [10.0, 20.0, None],
        }
    ).with_columns(pl.col("flight_date").str.to_date()).write_parquet(flights / "export.parquet")
    (root / "airlines").mkdir(parents=True)
    pl.DataFrame(AIRLINES, schema=["carrier", "name"], orient="row").write_parquet(
        root / "airlines" / "airlines.parquet"
    )

    result = python(yours, f"{PACKAGE}.dev", "run", "flight_delays", REAL_DAY)

    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    partition = yours / ".airflow" / "data" / "curated" / "flight_delays" / f"ds={REAL_DAY}"
    written = pl.read_parquet(partition / "*.parquet")
    assert written.rows() == [("American Airlines", 15.0, 2)]


def test_expectations_of_outputs_no_dag_writes_are_reported(default_project, tmp_path) -> None:
    """Point 3: the examples' DAGs and samples deleted, expected.py not yet emptied."""
    project = copy_of(default_project, tmp_path / "stale")
    delete_the_examples(project)
    (project / "tests" / "expected.py").write_text(
        (default_project / "tests" / "expected.py").read_text()
    )
    test = "tests/test_query_plans.py::test_every_exact_expectation_is_of_an_output_a_dag_writes"

    result = run([sys.executable, "-m", *SUITE, test], project, timeout=900, **WRITE_BYTECODE)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "tests/expected.py has expectations for outputs no DAG in dags/ writes: " in output
    assert "orders_by_status" in output and "daily_report" in output


def test_deleting_the_example_samples_breaks_no_shipped_test(default_project, tmp_path) -> None:
    """Point 3: with no dataset left, the tests of sample data pass or skip (the tools'
    tests are the provider's: polars_cloud_provider.devtools)."""
    project = copy_of(default_project, tmp_path / "bare")
    delete_the_examples(project)
    files = ["tests/test_sample_data.py", "tests/test_datasets.py"]

    result = run([sys.executable, "-m", *SUITE, *files], project, timeout=900, **WRITE_BYTECODE)

    assert result.returncode == 0, failures(result.stdout + result.stderr)


def test_docs_and_the_integrity_rule_agree_on_a_dag_without_its_teardown(
    default_project, tmp_path
) -> None:
    """complete_pipeline without its shutdown teardown: its own manifest's 10-minute idle
    timeout stops the cluster, so the integrity tests pass, and the docs say so."""
    project = copy_of(default_project, tmp_path / "no-teardown")
    replace(
        project / "dags" / "complete_pipeline.py", "    report >> shutdown_cluster(CLUSTER)\n", ""
    )
    test = "tests/test_dag_integrity.py"

    result = run([sys.executable, "-m", *SUITE, test], project, timeout=900, **WRITE_BYTECODE)

    assert result.returncode == 0, failures(result.stdout + result.stderr)
    docs = {
        name: (project / "docs" / name).read_text()
        for name in ("customize.md", "failure-modes.md", "polars-cloud.md")
    }
    for name, text in docs.items():
        flat = " ".join(text.split())
        assert not re.search(r"leaves? (a cluster|one) running", flat), name
    flat = " ".join(docs["customize.md"].split())
    assert "without the teardown passes when its idle timeout is that short" in flat


FAKE_UV = """#!/bin/sh
# `uv run --locked <tool> ...` -> the template environment's <tool> (no sync, no network)
[ "$1" = run ] && shift
[ "$1" = --locked ] && shift
tool="$1"
shift
exec "{bin}/$tool" "$@"
"""


def test_make_lint_lints_untracked_files_too(default_project, tmp_path) -> None:
    project = copy_of(default_project, tmp_path / "lint")
    fake = tmp_path / "bin" / "uv"
    fake.parent.mkdir()
    fake.write_text(FAKE_UV.format(bin=Path(sys.executable).parent))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {
        "PATH": f"{fake.parent}:{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"),
        "SKIP": "dag-integrity,detect-secrets",  # slow, and not about which files
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "commit.gpgsign=false", "commit", "-qm", "x", "--no-verify"],
    ):
        assert run(command, project, **env).returncode == 0
    assert shutil.which("make")
    clean = run(["make", "lint"], project, **env)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    mine = project / "dags" / PACKAGE / "queries" / "mine.py"
    mine.write_text("x=[1,\n  2]\n")
    dirty = run(["make", "lint"], project, **env)

    assert dirty.returncode != 0, dirty.stdout + dirty.stderr
    assert "mine.py" in dirty.stdout
