"""No file this project ships holds a credential, only placeholders. (The secrets-backend
settings are checked for credential kwargs by the backend's own test.)"""

from __future__ import annotations

import re
import shlex

from conftest import PROJECT_ROOT
from secrets_backend_settings import ENV_FILE, env_file_values

SKIPPED = {".venv", ".git", "tests", "__pycache__", ".pytest_cache", ".ruff_cache", "logs"}
# A value given to a credential field in JSON, an env line or a command line:
# "password": "...", password=..., VAULT_TOKEN=..., client_secret: ...
CREDENTIAL = re.compile(
    r"""(?i)["']?\b(password|client_secret|secret|token|[a-z_]*_(?:secret|token))\b["']?"""
    r"""[ \t]*[:=][ \t]*["']?([^"'\s,}|`]+)"""
)


def shipped_settings_and_docs():
    """Every file but code and tests: the README, .env.example, env files, TOML, cfg."""
    for path in sorted(PROJECT_ROOT.rglob("*")):
        relative = path.relative_to(PROJECT_ROOT)
        if path.is_file() and not SKIPPED.intersection(relative.parts) and path.suffix != ".py":
            yield str(relative), path.read_text(errors="replace")


def credential_values(text: str) -> list[str]:
    return [value for _, value in CREDENTIAL.findall(text)]


def test_the_credential_scan_finds_a_planted_secret() -> None:
    planted = '{"password": "s3cr3t-value"}'  # pragma: allowlist secret
    assert credential_values(planted) == ["s3cr3t-value"]
    assert credential_values("vault kv put secret/x password=hunter22") == ["hunter22"]
    assert credential_values("POLARS_CLOUD_CLIENT_SECRET=abc123") == ["abc123"]


def test_credentials_in_shipped_files_are_placeholders() -> None:
    found = {
        (where, value)
        for where, text in shipped_settings_and_docs()
        for value in credential_values(text)
        if not value.startswith("<")
    }
    assert found == set()


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
