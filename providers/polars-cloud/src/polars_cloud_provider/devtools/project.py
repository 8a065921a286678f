"""What the local tools need to know of a project: the provider never imports a project's code,
the project's own entry module (``<package>/dev.py``) builds a ``Project`` and passes it in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import polars as pl


class ProjectSettings(Protocol):
    """The two settings of a project the tools read."""

    @property
    def conn_id(self) -> str: ...  # the Airflow connection of type polars_cloud

    @property
    def data_root(self) -> str: ...  # no trailing "/"


SampleFrame = Callable[[int, int, date], "pl.DataFrame"]
"""``frame(rows, seed, ds)``: a dataset's sample rows; the same arguments give the same rows."""


@dataclass(frozen=True)
class Project:
    root: Path  # the project's folder: dags/, tests/, .airflow/
    package: str  # the project's package in dags/ (its queries/ gets the new DAGs' builders)
    start_date: datetime  # every DAG's default first logical date
    settings: Callable[[Mapping[str, str]], ProjectSettings]  # read for an environment
    env_var: Callable[[str], str]  # the variable overriding a setting: "data_root" -> ...
    input_folder: Callable[[str, str | None], str]  # dataset, day -> "raw/<name>[/ds=<day>]"
    partitioned_by_ds: frozenset[str]  # input datasets with one folder per day
    samples: Callable[[], Mapping[str, SampleFrame]]  # dataset -> its sample rows (lazily)
    samples_dir: Path  # where a dataset's sample module goes
    patterns_dir: Path  # make new-dag's templates

    def first_day(self, dag: Any) -> str:
        """The earliest logical date Airflow runs ``dag`` for: its start date."""
        start: datetime = dag.start_date or self.start_date
        return start.date().isoformat()

    def relative(self, path: Path | str) -> str:
        """``path`` as the project's own docs and messages write it."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
