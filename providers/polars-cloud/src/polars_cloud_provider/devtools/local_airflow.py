"""The Airflow CLI on this machine with the local backend (no Polars Cloud account), everything
under the project's ``.airflow/`` (docs/design-devtools.md)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

from polars_cloud_provider import settings as provider_settings
from polars_cloud_provider.devtools.project import Project

LOCAL_CONNECTION = json.dumps({"conn_type": "polars_cloud", "extra": {"backend": "local"}})
RETRY_DELAY_S = "1"  # a failing task here retries after a second, not the deployed delay


def local_environment(project: Project, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a local Airflow for ``project``, on top of ``base``."""
    env = dict(os.environ if base is None else base)
    home = project.root / ".airflow"
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(project.root / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            f"AIRFLOW_CONN_{project.settings(env).conn_id.upper()}": LOCAL_CONNECTION,
            provider_settings.env_var("local_root"): str(home / "intermediate"),
            project.env_var("retry_delay_s"): RETRY_DELAY_S,
        }
    )
    env.setdefault(project.env_var("data_root"), str(home / "data"))
    # The local engine stages its writes at the top of the data tree, outside what readers glob.
    env[provider_settings.env_var("local_data_root")] = project.settings(env).data_root
    # The DAG files import the project's package (the triggerer too, resuming them).
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(project.root / "dags"), env.get("PYTHONPATH")])
    )
    return env


def airflow(*args: str, env: Mapping[str, str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """Run ``airflow <args>`` with this interpreter's Airflow."""
    return subprocess.run([sys.executable, "-m", "airflow", *args], env=env, check=False, **kwargs)


def migrate(env: Mapping[str, str], log: IO[str]) -> bool:
    """Create or upgrade the metadata DB, unless this Airflow release already did it."""
    home = Path(env["AIRFLOW_HOME"])
    database = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    # Which database, without writing its URL (it may hold a password) to disk.
    digest = hashlib.sha256((database or "airflow.db").encode()).hexdigest()[:16]
    done = f"apache-airflow {version('apache-airflow')}, {digest}"
    marker = home / "migrated-by"
    missing = database is None and not (home / "airflow.db").is_file()
    if not missing and marker.is_file() and marker.read_text() == done:
        return True
    if airflow("db", "migrate", env=env, stdout=log, stderr=log).returncode != 0:
        return False
    marker.write_text(done)
    return True


def main(project: Project, argv: list[str]) -> int:
    """``airflow <argv>`` on the local Airflow of ``project``."""
    return airflow(*argv, env=local_environment(project)).returncode
