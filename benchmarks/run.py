"""Benchmarks of the generated project: numbers in a table, not pass/fail tests.

    uv run python benchmarks/run.py            # the full run whose figures go in the README
    uv run python benchmarks/run.py --smoke    # small sizes, a few seconds' worth (CI)
    uv run python benchmarks/run.py --deferral # also deferral.py's rows (a real deployment)

It bakes the template (defaults, and once without the example DAGs) into a temporary folder,
then measures:

1. DAG parse time: every generated DAG file against a trivial one-task DAG, each loaded in a
   fresh fork of a process that has imported only ``airflow.sdk``, as the DAG processor does
   (``parse_child.py``); the ratio per file. A guide-style file that imports polars and
   polars_cloud at the top is measured for reference.
2. The same files through ``airflow dags report``, Airflow's own per-file figure
   (``report_child.py``), to cross-check 1.
3. Local-backend throughput: the project's ``compute.sink`` inside ``@authenticate`` against
   the same LazyFrame sunk by Polars directly, on the project's sample data
   (``throughput_child.py``).
4. Wall time of the generated project's ``make test`` (two processes, in the bake's own
   environment) and of this template's test suite (the latter only in a full run, or from
   ``--template-suite-seconds``).
5. Sizes: the provider's code, and the generated Python of the default bake inside and
   outside ``tests/``, in lines (and in statements' lines: no blank lines, comments or
   docstrings).

Every other measurement runs in a subprocess with this interpreter (the one ``uv sync`` set
up for the template, which has the generated project's pinned dependencies).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent
BASELINE = HERE / "dags" / "trivial_dag.py"
GUIDE_STYLE = HERE / "dags" / "guide_style_dag.py"

PARSE_GOAL = 1.25  # at most this many times the trivial DAG's parse time, per file
THROUGHPUT_GOAL = 0.9  # at least this share of direct Polars' throughput
GENERATED_SUITE_GOAL_S = 15
MINIMAL_SUITE_GOAL_S = 10  # the bake without examples
TEMPLATE_SUITE_GOAL_S = 300
PROVIDER_SOURCE = TEMPLATE / "providers" / "polars-cloud" / "src"
PLUMBING_LINES = 5_079  # what the provider replaced: the plumbing each project carried
PROVIDER_LINES_AIM = 3_500
GENERATED_LINES_GOAL = 1_000  # generated Python outside tests/, default bake

# Variables of the calling shell that must not reach the measured processes.
_LEAKY_PREFIXES = ("AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_", "UV_PROJECT", "POLARS_CLOUD")


@dataclass(frozen=True)
class Sizes:
    parse_repetitions: int
    report_repetitions: int
    rows: tuple[int, ...]
    throughput_repetitions: int
    generated_suite_args: tuple[str, ...]  # empty: the whole suite
    judged: bool  # whether the sizes are large enough to compare the figures with the goals


FULL = Sizes(
    parse_repetitions=21,
    report_repetitions=7,
    rows=(1_000_000, 10_000_000),
    throughput_repetitions=15,
    generated_suite_args=(),
    judged=True,
)
SMOKE = Sizes(
    parse_repetitions=3,
    report_repetitions=1,
    rows=(10_000,),
    throughput_repetitions=3,
    generated_suite_args=("tests/test_queries_orders.py",),
    judged=False,
)


@dataclass
class Row:
    benchmark: str
    measured: str
    ratio: str = ""
    goal: str = ""
    result: str = ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, for CI")
    parser.add_argument(
        "--template-suite-seconds",
        type=float,
        default=_env_float("BENCHMARK_TEMPLATE_SUITE_SECONDS"),
        help="use this wall time for the template's suite instead of running it "
        "(also BENCHMARK_TEMPLATE_SUITE_SECONDS); a smoke run skips it otherwise",
    )
    parser.add_argument(
        "--deferral",
        action="store_true",
        help="also run deferral.py (a real deployment, blocking against deferred tasks) and "
        "add its rows",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="benchmarks-") as scratch:
        work = Path(scratch)
        examples = bake(work / "examples", include_example_dags=True)
        minimal = bake(work / "minimal", include_example_dags=False)
        rows = [
            *_parse_rows(work, examples, minimal, sizes),
            *_throughput_rows(work, examples, sizes),
            _generated_suite_row(examples, sizes),
            _generated_suite_row(minimal, sizes, "bake without examples", MINIMAL_SUITE_GOAL_S),
            _template_suite_row(args.template_suite_seconds, args.smoke),
            *_size_rows(examples),
        ]
    notes = []
    if args.deferral:
        import deferral  # beside this script; it imports this module's table helpers

        rows += deferral.measure(deferral.SMOKE if args.smoke else deferral.FULL)
        notes.append(deferral.SETUP)
    print_table(rows, smoke=args.smoke, seconds=time.monotonic() - started, notes=notes)
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    return 0


# -- baking -------------------------------------------------------------------------------


def bake(output: Path, **context: object) -> Path:
    from cookiecutter.main import cookiecutter

    project = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        output_dir=str(output),
        extra_context=context,
        default_config=True,
    )
    return Path(project)


def _package(project: Path) -> str:
    (package,) = [p.parent.name for p in (project / "dags").glob("*/settings.py")]
    return package


def _child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    # Parse with bytecode caches, as a deployment does (pip compiles what it installs, and the
    # DAG processor writes caches for the DAG folder): a parse that compiles every module it
    # imports would mostly measure the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # `airflow dags report` only reads DAG files; no metadata DB needs migrating.
            "AIRFLOW__DATABASE__CHECK_MIGRATIONS": "False",
        }
    )
    env.update(extra)
    return env


def _run_json(command: list[str], *, cwd: Path, env: dict[str, str]) -> object:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- 1 and 2: DAG parse time --------------------------------------------------------------


def _parse_rows(work: Path, examples: Path, minimal: Path, sizes: Sizes) -> list[Row]:
    # Copies, so that bytecode caches land in the scratch folder, not in this repository.
    reference = work / "reference-dags"
    reference.mkdir()
    baseline = Path(shutil.copy(BASELINE, reference))
    guide = Path(shutil.copy(GUIDE_STYLE, reference))
    minimal_dags = sorted((minimal / "dags").glob("*.py"))
    generated = sorted((examples / "dags").glob("*.py")) + minimal_dags
    files = [baseline, *generated, guide]
    labels = {baseline: "trivial one-task DAG (baseline)", guide: "guide-style DAG file"}
    labels.update({path: path.name for path in generated})
    labels.update({path: f"{path.name} (bake without examples)" for path in minimal_dags})

    env = _child_env(work / "airflow-home")
    # A deployment's AIRFLOW_HOME has its airflow.cfg; in one created by the measuring process
    # itself, every `dags report` fork spent ~120 ms more inside the parse (seen on 3.3.2).
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import airflow.configuration as c; c.write_default_airflow_configuration_if_needed()",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    parse = _run_json(
        [sys.executable, str(HERE / "parse_child.py"), str(sizes.parse_repetitions)]
        + [str(f) for f in files],
        cwd=work,
        env=env,
    )
    parse_ms = {path: statistics.median(parse[str(path)]) for path in files}

    # airflow dags report: each file alone in a DAG folder laid out like the project's (the
    # package beside it, kept out of parsing by .airflowignore).
    folders = {}
    for number, path in enumerate(files):
        folder = work / "report" / f"{number:02d}-{path.stem}"
        shutil.copytree(path.parent, folder, ignore=_other_dag_files(path))
        folders[path] = folder
    report = _run_json(
        [sys.executable, str(HERE / "report_child.py"), str(sizes.report_repetitions)]
        + [str(folders[path]) for path in files],
        cwd=work,
        env=env,
    )
    report_ms = {path: statistics.median(report[str(folders[path])]) for path in files}

    rows = []
    n = sizes.parse_repetitions
    for path in files:
        ratio = parse_ms[path] / parse_ms[baseline]
        if path == baseline:
            goal, result = "baseline", ""
        elif path == guide:
            goal, result = "reference: polars imported at the top", ""
        else:
            goal, result = f"<= {PARSE_GOAL}x", verdict(ratio <= PARSE_GOAL, sizes)
        rows.append(
            Row(
                f"parse: {labels[path]}",
                f"{parse_ms[path]:.1f} ms (median of {n})",
                f"{ratio:.2f}x",
                goal,
                result,
            )
        )
    for path in files:
        ratio = report_ms[path] / report_ms[baseline]
        rows.append(
            Row(
                f"airflow dags report: {labels[path]}",
                f"{report_ms[path]:.1f} ms (median of {sizes.report_repetitions})",
                f"{ratio:.2f}x",
                "cross-check of parse",
            )
        )
    return rows


def _other_dag_files(keep: Path):
    """For copytree: leave out the DAG folder's other DAG files and the package's caches."""

    def ignore(directory: str, names: list[str]) -> list[str]:
        if Path(directory) != keep.parent:
            return [name for name in names if name == "__pycache__"]
        return [name for name in names if name.endswith(".py") and name != keep.name]

    return ignore


# -- 3: local backend throughput ----------------------------------------------------------


def _throughput_rows(work: Path, project: Path, sizes: Sizes) -> list[Row]:
    package = _package(project)
    prefix = package.upper() + "_"
    data_root = work / "throughput-data"
    env = _child_env(
        work / "airflow-home-throughput",
        PYTHONPATH=str(project / "dags"),
        AIRFLOW_CONN_BENCHMARK_LOCAL=json.dumps(
            {"conn_type": "polars_cloud", "extra": {"backend": "local"}}
        ),
        **{
            f"{prefix}CONN_ID": "benchmark_local",
            f"{prefix}DATA_ROOT": str(data_root),
            "AIRFLOW__POLARS_CLOUD__LOCAL_ROOT": str(work / "throughput-intermediate"),
        },
    )
    results = _run_json(
        [
            sys.executable,
            str(HERE / "throughput_child.py"),
            package,
            str(data_root),
            str(sizes.throughput_repetitions),
            *map(str, sizes.rows),
        ],
        cwd=project,
        env=env,
    )
    rows = []
    for result in results:
        helper = result["rows"] / result["helper_s"] / 1e6
        direct = result["rows"] / result["direct_s"] / 1e6
        ratio = result["direct_s"] / result["helper_s"]
        rows.append(
            Row(
                f"local backend vs Polars: {result['query']}, {_count(result['rows'])} rows",
                f"{helper:.1f} vs {direct:.1f} M rows/s "
                f"({result['helper_s'] * 1000:.0f} vs {result['direct_s'] * 1000:.0f} ms)",
                f"{ratio:.2f}x",
                f">= {THROUGHPUT_GOAL}x",
                verdict(ratio >= THROUGHPUT_GOAL, sizes),
            )
        )
    return rows


def _count(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows >= 1_000_000 else f"{rows // 1_000}k"


# -- 4: test suites -----------------------------------------------------------------------


def _generated_suite_row(
    project: Path, sizes: Sizes, bake: str = "", goal_s: float = GENERATED_SUITE_GOAL_S
) -> Row:
    if sizes.judged:
        seconds, summary = _timed_make_test(project)
    else:  # a smoke run: one file, with this interpreter (no environment to build)
        seconds, summary = _timed_pytest(project, "-p", "no:cookies", *sizes.generated_suite_args)
    scope = " ".join(sizes.generated_suite_args) or "whole suite, make test"
    scope += f", {bake}" if bake else ""
    return Row(
        f"generated project's test suite ({scope})",
        f"{seconds:.1f} s ({summary})",
        goal=f"<= {goal_s:g} s (whole suite)",
        result=verdict(seconds <= goal_s, sizes),
    )


def _timed_make_test(project: Path) -> tuple[float, str]:
    """``make test`` in the bake's own environment, as its user runs it. This interpreter's
    environment would not do: it also holds the template's extra Airflow providers
    (OpenLineage's listener runs at every task event), 1-2.5 s more per suite. The environment
    is built first, bytecode included (untimed): a user's first run compiles it, every later
    run reads it."""
    sync = ["uv", "sync", "--quiet", "--compile-bytecode"]
    subprocess.run(sync, cwd=project, env=_suite_env(), check=True, capture_output=True)
    return _timed_suite(project, ["make", "-s", "test"])


def _template_suite_row(given: float | None, smoke: bool) -> Row:
    goal = f"<= {TEMPLATE_SUITE_GOAL_S} s"
    if given is not None:
        return Row(
            "template's test suite",
            f"{given:.1f} s (given)",
            goal=goal,
            result=verdict(given <= TEMPLATE_SUITE_GOAL_S, FULL),  # a real figure: judge it
        )
    if smoke:
        return Row("template's test suite", "not run (smoke)", goal=goal)
    seconds, summary = _timed_pytest(TEMPLATE)
    return Row(
        "template's test suite",
        f"{seconds:.1f} s ({summary})",
        goal=goal,
        result=verdict(seconds <= TEMPLATE_SUITE_GOAL_S, FULL),
    )


def _timed_pytest(cwd: Path, *args: str) -> tuple[float, str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    return _timed_suite(cwd, command)


def _suite_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    # As on a developer's machine, imports write bytecode (a sandbox may forbid it: every
    # process the suite starts then compiles Airflow again, about 15 s more).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _timed_suite(cwd: Path, command: list[str]) -> tuple[float, str]:
    """Wall time of ``command`` (a test suite) in ``cwd``, and pytest's count of its tests."""
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=_suite_env(), capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"the test suite in {cwd} failed:\n{result.stdout[-4000:]}")
    summary = re.search(r"(\d+ passed[^\n]*?) in [\d.]+s", result.stdout)
    return seconds, summary.group(1) if summary else "?"


# -- 5: sizes ----------------------------------------------------------------------------


def _size_rows(examples: Path) -> list[Row]:
    provider = _lines(PROVIDER_SOURCE.rglob("*.py"))
    generated = [path for path in sorted(examples.rglob("*.py")) if _generated(path, examples)]
    user = _lines(p for p in generated if "tests" not in p.relative_to(examples).parts)
    tests = _lines(p for p in generated if "tests" in p.relative_to(examples).parts)
    return [
        Row(
            "provider code (all of its src/)",
            _described(provider),
            goal=f"< {PLUMBING_LINES:,} lines (the plumbing it replaced), aim "
            f"{PROVIDER_LINES_AIM:,}",
            result="met" if provider[0] < PLUMBING_LINES else "MISSED",
        ),
        Row(
            "generated Python outside tests/ (default bake)",
            _described(user),
            goal=f"<= {GENERATED_LINES_GOAL:,} lines",
            result="met" if user[0] <= GENERATED_LINES_GOAL else "MISSED",
        ),
        Row("generated tests/ (default bake)", _described(tests)),
    ]


def _generated(path: Path, project: Path) -> bool:
    """Whether the bake wrote ``path``: not the vendored provider, nor what ``uv sync`` and the
    tools made since (``.venv/``, caches)."""
    parts = path.relative_to(project).parts
    return not any(part == "vendor" or part.startswith(".") for part in parts)


def _lines(paths: Iterable[Path]) -> tuple[int, int]:
    """Lines of these Python files, and those left without blank lines, comments and
    docstrings."""
    total = statements = 0
    for path in paths:
        source = path.read_text()
        lines = source.splitlines()
        docstrings = set()
        for node in ast.walk(ast.parse(source)):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and _is_docstring(body[0]):
                docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
        total += len(lines)
        statements += sum(
            1
            for number, line in enumerate(lines, 1)
            if line.strip() and not line.strip().startswith("#") and number not in docstrings
        )
    return total, statements


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _described(lines: tuple[int, int]) -> str:
    return f"{lines[0]:,} lines ({lines[1]:,} without blanks, comments, docstrings)"


# -- output -------------------------------------------------------------------------------


def verdict(met: bool, sizes: Sizes) -> str:
    if not sizes.judged:
        return ""  # the sizes of a smoke run say nothing about the goals
    return "met" if met else "MISSED"


def _env_float(name: str) -> float | None:
    value = os.environ.get(name, "").strip()
    return float(value) if value else None


def _machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = names[0].strip() if names else model
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def print_table(
    rows: list[Row], *, smoke: bool, seconds: float, notes: list[str] | tuple[str, ...] = ()
) -> None:
    from importlib.metadata import version

    kind = "smoke run (sizes too small for the goals: numbers only)" if smoke else "full run"
    print(f"Benchmarks, {kind}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, took {seconds:.0f} s")
    print(f"Machine: {_machine()}")
    print(
        "Versions: "
        + ", ".join(
            f"{name} {version(name)}" for name in ("apache-airflow", "polars", "polars-cloud")
        )
    )
    for note in notes:
        print(note)
    print()
    header = Row("benchmark", "measured", "ratio", "goal", "result")
    print(_markdown(header))
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(_markdown(row))


def _markdown(row: Row) -> str:
    return "| " + " | ".join(asdict(row).values()) + " |"


if __name__ == "__main__":
    raise SystemExit(main())
