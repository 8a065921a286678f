"""The local tools (make demo, run, new-dag, standalone) are the provider's devtools; this
module tells them where this project keeps its settings, datasets, samples and patterns."""

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
sample_data = devtools.SampleData(PROJECT)  # what the tests write and read
first_day = PROJECT.first_day

if __name__ == "__main__":  # python -m <package>.dev <command>, as the Makefile runs it
    raise SystemExit(devtools.main(PROJECT, sys.argv[1:]))
