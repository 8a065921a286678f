"""`make standalone` (and the deployments) run Airflow on PostgreSQL with the drivers a
generated project pins (the same as this repository's dev group).

Airflow builds two engines from ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``: the URL as given
(synchronous) and an asyncio one it derives from it. Each needs its driver installed; a
missing one only shows when Airflow starts (``No module named 'asyncpg'``). Engines are
built without connecting, so no server is needed here.
"""

from __future__ import annotations

import json
import subprocess
import sys

from devtools_project import tiny_project
from polars_cloud_provider.devtools.local_airflow import local_environment

SQL_ALCHEMY_CONN = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
# Port 9 (discard): nothing is ever contacted.
URLS = {
    "postgresql://airflow@127.0.0.1:9/airflow": "psycopg",  # SQLAlchemy 2.1's default
    "postgresql+psycopg2://airflow@127.0.0.1:9/airflow": "psycopg2",
    "postgresql+psycopg://airflow@127.0.0.1:9/airflow": "psycopg",
}

# Airflow's own code path, in a fresh process (it reads the URL when it is imported).
_ENGINES = """
import json, os, sys
from airflow import settings

drivers = {}
for url in json.loads(sys.argv[1]):
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url
    settings.configure_vars()
    settings.configure_orm()
    drivers[url] = [settings.engine.dialect.driver, settings.async_engine.dialect.driver]
    settings.dispose_orm()
print(json.dumps(drivers))
"""


def test_airflow_builds_both_engines_for_every_postgresql_url_form(tmp_path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "AIRFLOW_HOME": str(tmp_path),
        SQL_ALCHEMY_CONN: next(iter(URLS)),
    }
    result = subprocess.run(
        [sys.executable, "-c", _ENGINES, json.dumps(list(URLS))],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # only bounds a hang
    )
    assert result.returncode == 0, result.stderr[-3000:]
    drivers = json.loads(result.stdout.splitlines()[-1])
    assert drivers == {url: [driver, "asyncpg"] for url, driver in URLS.items()}


def test_the_local_airflow_keeps_a_postgresql_url_from_the_environment(tmp_path) -> None:
    """`make standalone` (and `make demo`) use the URL when one is set, SQLite otherwise."""
    url = next(iter(URLS))
    project = tiny_project(tmp_path)
    assert local_environment(project, {SQL_ALCHEMY_CONN: url})[SQL_ALCHEMY_CONN] == url
    assert SQL_ALCHEMY_CONN not in local_environment(project, {})
