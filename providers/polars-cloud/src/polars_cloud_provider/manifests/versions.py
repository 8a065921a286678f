"""Is this the workers' Python? Polars Cloud refuses a manifest to a process whose Python differs,
patch included, from the registering one's (docs/design-manifests.md). The workers run the
image's Python: ``.python-version``, whose patch release only the image knows.
"""

from __future__ import annotations

import sys
from pathlib import Path

PYTHON_VERSION_FILE = ".python-version"
MAINTENANCE_DAG = "register_manifests"
HERE = ".".join(map(str, sys.version_info[:3]))
PATCH_NOTE = (
    f"registering with Python {HERE}: workers on another {HERE.rsplit('.', 1)[0]}.x patch refuse "
    f"these manifests (Polars Cloud compares the full version); the {MAINTENANCE_DAG} DAG "
    "registers from the workers themselves."
)


def mismatch(project_root: Path) -> str | None:
    """A sentence saying how this interpreter differs from the workers', or None."""
    declared = project_root / PYTHON_VERSION_FILE
    wanted = declared.read_text().strip().split()[0] if declared.is_file() else HERE
    if f"{HERE}.".startswith(f"{wanted}."):  # 3.11 and 3.11.7 both name this 3.11.7
        return None
    return (
        f"this is Python {HERE}, the workers run Python {wanted} ({PYTHON_VERSION_FILE} "
        "and the Dockerfile's tag): they would refuse manifests registered from here. "
        f"Register from the workers (trigger the {MAINTENANCE_DAG} DAG) or, knowingly, pass "
        "--from-this-python."
    )
