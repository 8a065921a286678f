"""Deterministic sample inputs for every dataset the DAGs read, written where they read them.

Each input dataset has a module in ``samples/`` (``samples/orders.py`` for ``raw/orders/``)
with ``frame(rows, seed, ds)``. Datasets partitioned by day (``datasets.PARTITIONED_BY_DS``)
get one ``ds=<day>/`` folder per day written; the others one file.

    python -m {{ cookiecutter.package_name }}.dev.sample_data --rows 10000 \\
        [--ds 2026-01-01 ...] [--root URI]
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from polars_cloud_provider import settings as provider_settings

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.dag_defaults import START_DATE
from {{ cookiecutter.package_name }}.dev import local_airflow, samples

if TYPE_CHECKING:
    import polars as pl

DEFAULT_ROWS = 10_000
DEFAULT_SEED = 42
DEFAULT_DS = START_DATE.date().isoformat()
PART = "part-0.parquet"


def names() -> list[str]:
    """Every dataset with sample data: the modules of ``samples/``."""
    return sorted(m.name for m in pkgutil.iter_modules(samples.__path__) if m.name[0] != "_")


def how_to_add(name: str) -> str:
    """Where sample data for the dataset ``name`` goes, for error messages."""
    folder = Path(samples.__file__).parent.relative_to(local_airflow.PROJECT_ROOT)
    return (
        f"add {folder}/{name}.py with a function frame(rows: int, seed: int, ds: date) "
        "returning its polars DataFrame (copy a module beside it)"
    )


def frame(name: str, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, ds: str = DEFAULT_DS):
    """The sample rows of dataset ``name`` (for the day ``ds`` if it is partitioned)."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if name not in names():
        raise LookupError(f"No sample data for input {name!r}: {how_to_add(name)}.")
    module = importlib.import_module(f"{samples.__name__}.{name}")
    return module.frame(rows, seed, date.fromisoformat(ds))


def sample_frames(
    rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, ds: str = DEFAULT_DS
) -> dict[str, pl.DataFrame]:
    """Every dataset's sample rows, as a run for ``ds`` reads them."""
    return {name: frame(name, rows, seed, ds) for name in names()}


def write(
    root: str | None = None,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    days: list[str] | tuple[str, ...] = (DEFAULT_DS,),
    only_missing: bool = False,
) -> dict[str, list[str]]:
    """Write every dataset's sample file(s); return the paths written, per dataset.

    Partitioned datasets get one file per day of ``days``, the others one file. With
    ``only_missing``, a folder that already holds parquet files is left alone: files put
    there by hand are never overwritten.
    """
    # Imports Airflow: not before main() has set it up.
    from {{ cookiecutter.package_name }} import datasets

    base = root or settings.load().data_root
    storage_options = provider_settings.load().storage_options
    written: dict[str, list[str]] = {}
    for name in names():
        for ds in days if name in datasets.PARTITIONED_BY_DS else days[:1]:
            folder = f"{base.rstrip('/')}/{datasets.input_folder(name, ds)}"
            if only_missing and _holds_parquet(folder, storage_options):
                continue
            if "://" not in folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
            path = f"{folder}/{PART}"
            frame(name, rows, seed, ds).write_parquet(path, storage_options=storage_options)
            written.setdefault(name, []).append(path)
    return written


def _holds_parquet(folder: str, storage_options: dict[str, str] | None) -> bool:
    if "://" not in folder:
        return any(Path(folder).glob("*.parquet"))
    import polars as pl

    try:
        pl.scan_parquet(f"{folder}/*.parquet", storage_options=storage_options).collect_schema()
    except Exception:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--ds", nargs="+", default=[DEFAULT_DS], help="days of the partitioned datasets"
    )
    parser.add_argument("--root", help="data root (default: the local one, .airflow/data)")
    args = parser.parse_args(argv)
    os.environ.update(local_airflow.local_environment())
    for name, paths in write(args.root, args.rows, args.seed, args.ds).items():
        for path in paths:
            print(f"{name:<10} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
