"""This project's local tools: ``make demo``, ``make run``, ``make new-dag``, ``make standalone``.

The tools are the provider's (``polars_cloud_provider.devtools``); this module tells them
where this project keeps its settings, datasets, samples and new-DAG patterns. Nothing here
runs in a deployment. ``python -m {{ cookiecutter.package_name }}.dev`` lists the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

from polars_cloud_provider import devtools

from {{ cookiecutter.package_name }} import datasets, samples, settings
from {{ cookiecutter.package_name }}.dag_defaults import START_DATE

ROOT = Path(__file__).resolve().parents[2]
PROJECT = devtools.Project(
    root=ROOT,
    package=Path(__file__).parent.name,
    start_date=START_DATE,
    settings=settings.load,
    env_var=settings.env_var,
    input_folder=datasets.input_folder,
    partitioned_by_ds=datasets.PARTITIONED_BY_DS,
    samples=samples.frames,
    samples_dir=Path(samples.__file__).parent,
    patterns_dir=ROOT / "patterns",
)
sample_data = devtools.SampleData(PROJECT)
first_day = PROJECT.first_day

if __name__ == "__main__":
    raise SystemExit(devtools.main(PROJECT, sys.argv[1:]))
