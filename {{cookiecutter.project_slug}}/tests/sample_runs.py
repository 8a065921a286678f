"""DAG runs on the local backend over sample data: one data root per DAG, so that no DAG
sees another's outputs, and what each run leaves there."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from dag_plans import DagPlan, plan, writers

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.dev import sample_data

ROWS = 2_000


@contextmanager
def data_root(root: Path) -> Iterator[Path]:
    """Point the settings' data root at ``root`` for the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.env_var("data_root"), str(root))
        patch.setenv("AIRFLOW__POLARS_CLOUD__LOCAL_DATA_ROOT", str(root))  # staging's place
        yield root


def plan_and_write_inputs(dag, ds: str, root: Path, rows: int = ROWS) -> DagPlan:
    """Plan ``dag`` (failing on any query problem) and write sample data for ``ds``; run
    first, in the same data root, the DAGs writing the outputs it reads (``datasets.output``),
    as the scheduler would have before data-aware scheduling starts it."""
    with data_root(root):
        planned = plan(dag, ds)
    assert planned.problems == [], "\n".join(planned.problems)
    sample_data.write(str(root), rows=rows, days=[ds], only_missing=True)
    for name in planned.upstream:
        if not files_in(root, f"curated/{name}/ds={ds}"):
            _run_the_writer(name, ds, root, rows)
    return planned


def _run_the_writer(output: str, ds: str, root: Path, rows: int) -> None:
    from conftest import parsed_dag, run_dag

    writer = writers(ds)[output][0]
    plan_and_write_inputs(parsed_dag(writer), ds, root, rows)
    with data_root(root):
        result = run_dag(writer, ds)
    assert result.state == "success", f"{writer} writes {output!r}: " + result.report()


@functools.cache
def sample_rows(ds: str, rows: int = ROWS) -> dict[str, list[dict]]:
    """The sample inputs a run for ``ds`` reads, as rows (for expected.py)."""
    frames = sample_data.sample_frames(rows, ds=ds)
    return {name: frame.rows(named=True) for name, frame in frames.items()}


def files_in(root: Path, folder: str) -> list[str]:
    """Every file under ``root/folder``, relative to it."""
    base = root / folder
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def read(root: Path, folder: str) -> pl.DataFrame:
    return pl.read_parquet(root / folder / "*.parquet")


def snapshot(root: Path) -> dict[str, tuple[str, int, int] | None]:
    """Every entry under ``root``: files by content, modification time and inode."""
    entries = {}
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        entries[str(path.relative_to(root))] = (
            (hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_ino)
            if path.is_file()
            else None
        )
    return entries
