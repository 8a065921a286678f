"""A small project for the devtools tests, described the way a project's ``dev.py`` does:
two input datasets (``visits`` partitioned by day), their sample rows, settings read from the
environment, and new-DAG patterns (``data/devtools_patterns``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from polars_cloud_provider.devtools import Project, SampleFrame
from polars_cloud_provider.devtools import sample_columns as columns

PACKAGE = "tiny_pipelines"
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
PARTITIONED_BY_DS = frozenset({"visits"})
PATTERNS = Path(__file__).resolve().parent / "data" / "devtools_patterns"


@dataclass(frozen=True)
class Settings:
    conn_id: str
    data_root: str


def env_var(field: str) -> str:
    return f"TINY_{field.upper()}"


def load(env: Mapping[str, str]) -> Settings:
    data_root = env.get(env_var("data_root"), "s3://tiny-bucket/data").rstrip("/")
    return Settings(conn_id=env.get(env_var("conn_id"), "tiny_cloud"), data_root=data_root)


def input_folder(name: str, ds: str | None = None) -> str:
    return f"raw/{name}/ds={ds}" if name in PARTITIONED_BY_DS else f"raw/{name}"


def orders(rows: int, seed: int, ds: date) -> pl.DataFrame:
    return columns.ids(rows).select(
        pl.col("id").alias("order_id"),
        columns.pick(columns.CATEGORIES, seed, 1).alias("category"),
        columns.day(seed, 2).alias("order_date"),
    )


def visits(rows: int, seed: int, ds: date) -> pl.DataFrame:
    return columns.ids(rows).select(
        pl.col("id").alias("visit_id"),
        (columns.uniform(columns.day_seed(seed, ds), 3) % 100).alias("seconds"),
    )


def samples() -> dict[str, SampleFrame]:
    return {"orders": orders, "visits": visits}


def their_file(path: Path, frame: pl.DataFrame | None = None) -> Path:
    """A parquet file of the user's own at ``path``: one the tools did not write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (pl.DataFrame({"mine": [1]}) if frame is None else frame).write_parquet(path)
    return path


def tiny_project(root: Path) -> Project:
    """The project in the folder ``root`` (its samples in ``dags/tiny_pipelines/samples``)."""
    return Project(
        root=root,
        package=PACKAGE,
        start_date=START_DATE,
        settings=load,
        env_var=env_var,
        input_folder=input_folder,
        partitioned_by_ds=PARTITIONED_BY_DS,
        samples=samples,
        samples_dir=root / "dags" / PACKAGE / "samples",
        patterns_dir=PATTERNS,
    )
