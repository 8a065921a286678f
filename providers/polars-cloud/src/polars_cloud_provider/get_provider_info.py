"""What Airflow's providers manager reads about this provider (the ``apache_airflow_provider``
entry point). It imports nothing: the connection form is declared here, not in the hook."""

from __future__ import annotations

from typing import Any

from polars_cloud_provider import __version__, settings

NAME = "Polars Cloud"


def _modules(module: str) -> list[dict[str, Any]]:
    return [{"integration-name": NAME, "python-modules": [f"polars_cloud_provider.{module}"]}]


def _field(label: str, description: str, **schema: Any) -> dict[str, Any]:
    """A connection form field holding an optional string."""
    schema = {"type": ["string", "null"], **schema}
    return {"label": label, "schema": schema, "description": description}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-polars-cloud",
        "name": NAME,
        "description": "Run Polars queries on Polars Cloud (or in-process) from Airflow tasks.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": NAME,
                "external-doc-url": "https://docs.pola.rs/polars-cloud/",
                "tags": ["service"],
            }
        ],
        "hooks": _modules("hooks.polars_cloud"),
        "operators": _modules("operators.polars_task"),
        "triggers": _modules("triggers.query"),
        "connection-types": [
            {
                "hook-class-name": "polars_cloud_provider.hooks.polars_cloud.PolarsCloudHook",
                "hook-name": NAME,
                "connection-type": "polars_cloud",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port", "extra"],
                    "relabeling": {
                        "login": "Client ID",
                        "password": "Client secret",  # pragma: allowlist secret
                    },
                    "placeholders": {
                        "login": "service account client id",
                        "password": "service account client secret",  # pragma: allowlist secret
                    },
                },
                "conn-fields": {
                    "workspace": _field("Workspace", "The Polars Cloud workspace queries run in."),
                    "backend": _field(
                        "Backend",
                        "cloud: Polars Cloud. local: in-process Polars on the worker, no service "
                        "account needed (development, demos, CI).",
                        enum=["cloud", "local"],
                        default="cloud",
                    ),
                    "local_root": _field(
                        "Local root",
                        "Local backend only: the folder (or s3:// prefix) for intermediate "
                        "results; default: the [polars_cloud] local_root option.",
                    ),
                },
            }
        ],
        "extra-links": ["polars_cloud_provider.links.query.PolarsQueryLink"],
        "task-decorators": [
            {
                "name": "polars_cloud",
                "class-name": "polars_cloud_provider.decorators.polars_task.polars_task",
            }
        ],
        "config": {
            settings.SECTION: {
                "description": "Polars Cloud provider: query and engine bounds.",
                "options": {
                    name: {
                        "description": settings.DESCRIPTIONS[name],
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": None,
                        "default": default or None,
                    }
                    for name, default in settings.DEFAULTS.items()
                },
            }
        },
    }
