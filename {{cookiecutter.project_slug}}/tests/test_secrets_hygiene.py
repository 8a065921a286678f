"""No file this project would ship holds a credential, only placeholders. (The secrets-backend
settings are checked for credential kwargs by the backend's own test.)

"Would ship" is what git would commit: tracked files and untracked files that are not ignored,
so local state (a filled-in ``.env``, the ``.airflow/`` home ``make demo`` writes) is never
scanned. A finding names the file, the line and the key, never the value.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT
from secrets_backend_settings import ENV_FILE, env_file_values

# Code and tests are covered by detect-secrets in pre-commit; the tests hold dummy values.
NOT_SCANNED_DIRS = {"tests", "vendor"}  # vendor/: the provider, scanned where it is developed
# A value given to a credential field in JSON, an env line or a command line:
# "password": "...", password=..., VAULT_TOKEN=..., client_secret: ...
CREDENTIAL = re.compile(
    r"""(?i)["']?\b(password|client_secret|secret|token|[a-z_]*_(?:secret|token))\b["']?"""
    r"""[ \t]*[:=][ \t]*["']?([^"'\s,}|`]+)"""
)
# The password of a connection URI (.env.example's form): scheme://login:<password>@host
URI_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^:/@\s]*:([^@/\s]+)@", re.IGNORECASE)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def files_git_would_ship(root: Path) -> list[str]:
    """Tracked files plus untracked ones that are not ignored, relative to ``root``.

    Outside a git repository (a fresh project before ``git init``) a throwaway git dir over
    ``root`` applies the same ignore rules.
    """
    listing = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    inside = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
    )
    if inside.stdout.strip() == "true":
        result = subprocess.run(["git", "-C", str(root), *listing], capture_output=True, check=True)
    else:
        with tempfile.TemporaryDirectory(prefix="hygiene-git-") as git_dir:
            git = ["git", f"--git-dir={git_dir}", f"--work-tree={root}"]
            subprocess.run([*git, "init", "-q"], check=True)
            result = subprocess.run([*git, *listing], capture_output=True, check=True, cwd=root)
    names = result.stdout.decode().split("\0")
    return sorted(name for name in names if name and (root / name).is_file())


def credential_keys(text: str) -> list[tuple[int, str]]:
    """(line, key) of every credential given a value that is not a ``<placeholder>``."""
    return [
        (number, key)
        for number, line in enumerate(text.splitlines(), start=1)
        for key, value in [
            *CREDENTIAL.findall(line),
            *(("uri password", v) for v in URI_PASSWORD.findall(line)),
        ]
        if not value.startswith("<")
    ]


def credentials_in_shipped_files(root: Path) -> list[str]:
    """``file:line: key`` for each credential with a real value in a file git would ship."""
    return [
        f"{name}:{line}: {key}"
        for name in files_git_would_ship(root)
        if Path(name).suffix != ".py" and not NOT_SCANNED_DIRS.intersection(Path(name).parts)
        for line, key in credential_keys((root / name).read_text(errors="replace"))
    ]


def test_the_credential_scan_finds_a_planted_secret() -> None:
    planted = '{"password": "s3cr3t-value"}'  # pragma: allowlist secret
    assert credential_keys(planted) == [(1, "password")]
    assert credential_keys("x\nvault kv put secret/x password=hunter22") == [(2, "password")]
    assert credential_keys("CLIENT_SECRET=abc123") == [(1, "CLIENT_SECRET")]
    assert credential_keys("password='<client secret>'") == []
    planted_uri = "A=http://id:s3cr%2Fet@/?backend=cloud"  # pragma: allowlist secret
    assert credential_keys(planted_uri) == [(1, "uri password")]
    assert credential_keys("A=http://<client-id>:<client-secret>@/?backend=cloud") == []


def plant_project(root: Path, value: str) -> None:
    """A project with one credential in a shipped file and more in local, ignored state."""
    shutil.copy(PROJECT_ROOT / ".gitignore", root / ".gitignore")
    (root / "docs").mkdir()
    (root / "docs" / "notes.md").write_text(f"Deploy with\n\n    client_secret: {value}\n")
    (root / ".env").write_text(f"POLARS_CLOUD_CLIENT_SECRET={value}\n")
    (root / ".airflow").mkdir()
    (root / ".airflow" / "airflow.cfg").write_text(f"[api_auth]\njwt_secret = {value}\n")


@needs_git
@pytest.mark.parametrize("repository", [False, True], ids=["before-git-init", "git-repository"])
def test_a_credential_in_a_shipped_file_is_named_without_its_value(tmp_path, repository) -> None:
    value = "planted-credential-4f2a"  # pragma: allowlist secret
    plant_project(tmp_path, value)
    if repository:
        subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
        subprocess.run(["git", "add", "docs"], cwd=tmp_path, check=True)

    found = credentials_in_shipped_files(tmp_path)

    # The filled-in .env and the local Airflow home are ignored: only the doc is reported.
    assert found == ["docs/notes.md:3: client_secret"]
    assert value not in "\n".join(found)


@needs_git
def test_credentials_in_shipped_files_are_placeholders() -> None:
    found = credentials_in_shipped_files(PROJECT_ROOT)
    assert not found, "credentials in files git would commit (values not shown):\n" + "\n".join(
        found
    )


def dockerfile_env() -> dict[str, str]:
    """The image's ENV settings, read as docker reads them (continuations, quotes)."""
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    values = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line.removeprefix("ENV ")):
                key, _, value = item.partition("=")
                values[key] = value
    return values


def test_the_image_looks_up_the_connection_where_the_deployment_settings_say() -> None:
    image = dockerfile_env()
    assert not [key for key in image if key.startswith("AIRFLOW_CONN_")], "never bake it in"
    backend = {key: value for key, value in image.items() if "SECRETS" in key}
    assert backend == (env_file_values() if ENV_FILE.exists() else {})
