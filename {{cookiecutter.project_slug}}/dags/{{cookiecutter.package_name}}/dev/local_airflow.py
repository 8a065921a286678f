"""Run the Airflow CLI on this machine with the local backend: no Polars Cloud account.

Everything stays under ``.airflow/`` in the project (gitignored): the SQLite metadata DB,
logs, the data root (unless ``{{ cookiecutter.package_name | upper }}_DATA_ROOT`` is already set,
e.g. to a local S3-compatible store) and intermediate results. The Polars Cloud connection
is replaced by one with the extra ``{"backend": "local"}``.

    python -m {{ cookiecutter.package_name }}.dev.local_airflow standalone   # UI on :8080
    python -m {{ cookiecutter.package_name }}.dev.local_airflow dags test complete_pipeline 2026-01-01
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from {{ cookiecutter.package_name }} import settings

PROJECT_ROOT = Path(__file__).resolve().parents[3]
LOCAL_CONNECTION = json.dumps({"conn_type": "http", "extra": {"backend": "local"}})


def local_environment(
    project: Path = PROJECT_ROOT, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a local Airflow for ``project``, on top of ``base``."""
    env = dict(os.environ if base is None else base)
    home = project / ".airflow"
    conn_id = settings.load(env).conn_id
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            f"AIRFLOW_CONN_{conn_id.upper()}": LOCAL_CONNECTION,
            settings.env_var("local_root"): str(home / "intermediate"),
        }
    )
    env.setdefault(settings.env_var("data_root"), str(home / "data"))
    # The triggerer imports the package's trigger by its dotted path (deferred @polars_task).
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(project / "dags"), env.get("PYTHONPATH")])
    )
    return env


def airflow(*args: str, env: Mapping[str, str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``airflow <args>`` with this interpreter's Airflow."""
    return subprocess.run([sys.executable, "-m", "airflow", *args], env=env, check=False, **kwargs)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return airflow(*args, env=local_environment()).returncode


if __name__ == "__main__":
    raise SystemExit(main())
