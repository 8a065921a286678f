"""Deterministic sample inputs for every dataset the DAGs read, written where they read them.

Never over, beside or instead of input the tools did not write (docs/design-devtools.md):
``python -m <package>.dev sample-data --rows 10000 [--ds 2026-01-01 ...] [--root URI]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polars_cloud_provider import settings as provider_settings
from polars_cloud_provider.devtools import local_airflow
from polars_cloud_provider.devtools.project import Project

if TYPE_CHECKING:
    import polars as pl

MARKER = ".sample-data"  # in each dataset folder of sample data: no *.parquet glob matches it
MARKER_TEXT = "Sample data written by make run / make demo (polars_cloud_provider.devtools)."
DEFAULT_ROWS = 10_000
DEFAULT_SEED = 42
PART = "part-0.parquet"
Options = dict[str, Any]


class SampleDataRefused(Exception):
    """Sample data would replace, or sit beside, input the tools did not write; or what is
    there could not be read. Nothing was written for that dataset."""


class SampleData:
    """The sample data of one project: its rows, and writing them where its DAGs read."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.DEFAULT_DS = project.start_date.date().isoformat()  # the day written by default

    def names(self) -> list[str]:
        """Every dataset with sample data."""
        return sorted(self.project.samples())

    def how_to_add(self, name: str) -> str:
        """Where sample data for the dataset ``name`` goes, for error messages."""
        folder = self.project.relative(self.project.samples_dir)
        return (
            f"add {folder}/{name}.py with a function frame(rows: int, seed: int, ds: date) "
            "returning its polars DataFrame (copy a module beside it)"
        )

    def frame(
        self, name: str, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, ds: str | None = None
    ) -> pl.DataFrame:
        """The sample rows of dataset ``name`` (for the day ``ds`` if it is partitioned)."""
        if rows < 1:
            raise ValueError(f"rows must be at least 1, got {rows}")
        samples = self.project.samples()
        if name not in samples:
            raise LookupError(f"No sample data for input {name!r}: {self.how_to_add(name)}.")
        return samples[name](rows, seed, date.fromisoformat(ds or self.DEFAULT_DS))

    def sample_frames(
        self, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, ds: str | None = None
    ) -> dict[str, pl.DataFrame]:
        """Every dataset's sample rows, as a run for ``ds`` reads them."""
        return {name: self.frame(name, rows, seed, ds) for name in self.names()}

    def write(
        self,
        root: str | None = None,
        rows: int = DEFAULT_ROWS,
        seed: int = DEFAULT_SEED,
        days: Sequence[str] | None = None,
        only_missing: bool = False,
    ) -> dict[str, list[str]]:
        """Write every dataset's sample file (partitioned ones: for each of ``days``, default the
        start date); return the paths written, per dataset. Raise ``SampleDataRefused`` for a
        dataset holding other files; with ``only_missing``, skip days that have parquet files."""
        import polars as pl

        # Imports Airflow: not before main() has set it up.
        from polars_cloud_provider.engines import local_storage

        days = list(days or [self.DEFAULT_DS])
        partitioned = self.project.partitioned_by_ds
        options = local_storage.options(provider_settings.load())  # bounded by the timeout
        base = (root or self.project.settings(os.environ).data_root).rstrip("/")
        written: dict[str, list[str]] = {}
        for name in self.names():
            for ds in days if name in partitioned else days[:1]:
                folder = f"{base}/{self.project.input_folder(name, ds)}"
                dataset = folder.rsplit("/ds=", 1)[0]  # the whole dataset, every day of it
                if only_missing and _holds_parquet(folder, options):
                    continue
                if not _may_write(dataset, options):
                    day = f" for ds={ds}" if name in partitioned else ""
                    raise SampleDataRefused(
                        f"Input {name!r}{day}: no parquet file at {folder}/*.parquet, and "
                        f"{dataset}/ holds files that sample data did not write (no {MARKER}): "
                        "sample data never fills in or replaces real input. Put the missing "
                        "files there, run another day, or use an empty data root."
                    )
                if "://" not in folder:
                    Path(folder).mkdir(parents=True, exist_ok=True)
                path = f"{folder}/{PART}"
                try:  # the marker first: a write cut short leaves sample data marked
                    pl.DataFrame({"note": [MARKER_TEXT]}).write_csv(
                        f"{dataset}/{MARKER}", include_header=False, storage_options=options
                    )
                    self.frame(name, rows, seed, ds).write_parquet(path, storage_options=options)
                except Exception as error:
                    raise _stopped("writing", path, error, options) from error
                written.setdefault(name, []).append(path)
        return written


def _holds_parquet(folder: str, options: Options) -> bool:
    """Whether ``folder`` holds parquet files, all readable; False only on "not found"."""
    import polars as pl

    if "://" in folder:
        return _remote_has_parquet(f"{folder}/*.parquet", options)
    files = [path for path in _local_files(folder, recursive=False) if path.suffix == ".parquet"]
    for path in files:
        try:
            pl.read_parquet_schema(path)
        except Exception as error:
            raise _stopped("reading", str(path), error, options) from error
    return bool(files)


def _may_write(dataset: str, options: Options) -> bool:
    """Whether sample data may go into ``dataset``: it holds no file (on an object store: no
    parquet file) at all, or it is marked."""
    if "://" not in dataset:
        return not _local_files(dataset, recursive=True) or Path(dataset, MARKER).is_file()
    if not _remote_has_parquet(f"{dataset}/**/*.parquet", options):
        return True
    import polars as pl

    marker = f"{dataset}/{MARKER}"
    try:
        pl.read_csv(marker, has_header=False, storage_options=options)
    except FileNotFoundError:
        return False
    except Exception as error:
        raise _stopped("reading", marker, error, options) from error
    return True


def _local_files(folder: str, recursive: bool) -> list[Path]:
    """The files under a local ``folder``; none if it does not exist. Other errors raise."""
    found: list[Path] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir() and recursive:
                    found += _local_files(entry.path, recursive)
                elif entry.is_file():
                    found.append(Path(entry.path))
    except FileNotFoundError:
        return []
    except OSError as error:
        raise _stopped("listing", folder, error, {}) from error
    return found


def _remote_has_parquet(pattern: str, options: Options) -> bool:
    """Whether the object store has a parquet file at ``pattern``: False only on the store's
    definite "nothing there", True when the first file's footer reads; otherwise raise."""
    import polars as pl

    try:
        pl.scan_parquet(pattern, storage_options=options).collect_schema()
    except Exception as error:
        nothing = "expanded paths were empty" in str(error)
        if isinstance(error, pl.exceptions.ComputeError) and nothing:
            return False
        raise _stopped("reading", pattern, error, options) from error
    return True


def _stopped(doing: str, path: str, error: BaseException, options: Options) -> SampleDataRefused:
    from polars_cloud_provider.engines import local_storage

    first = (str(error).strip().splitlines() or [""])[0]
    where = local_storage.endpoint(options, [path])
    timeout_s = provider_settings.load().storage_timeout_s
    store = f" at {where} (storage timeout {timeout_s:g} s)" if where else ""
    why = (
        "No sample data was written there: it is written only where the store says nothing exists."
        if doing != "writing"
        else "The sample data was not written."
    )
    return SampleDataRefused(
        f"Stopped {doing} {path}{store}: {type(error).__name__}: {first}. {why}"
    )


def main(project: Project, argv: list[str]) -> int:
    sample_data = SampleData(project)
    parser = argparse.ArgumentParser(
        prog=f"python -m {project.package}.dev sample-data",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--ds", nargs="+", default=[sample_data.DEFAULT_DS], help="days of the partitioned datasets"
    )
    parser.add_argument("--root", help="data root (default: the local one, .airflow/data)")
    args = parser.parse_args(argv)
    os.environ.update(local_airflow.local_environment(project))
    try:
        written = sample_data.write(args.root, args.rows, args.seed, args.ds)
    except SampleDataRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    for name, paths in written.items():
        for path in paths:
            print(f"{name:<10} {path}")
    return 0
