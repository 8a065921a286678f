"""What Airflow's providers manager reads about this provider (the ``apache_airflow_provider``
entry point). It imports nothing: the connection form is declared here, not in the hook."""

from __future__ import annotations

from typing import Any

from polars_cloud_provider import __version__, settings


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-polars-cloud",
        "name": "Polars Cloud",
        "description": "Run Polars queries on Polars Cloud (or in-process) from Airflow tasks.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Polars Cloud",
                "external-doc-url": "https://docs.pola.rs/polars-cloud/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Polars Cloud",
                "python-modules": ["polars_cloud_provider.hooks.polars_cloud"],
            }
        ],
        "operators": [
            {
                "integration-name": "Polars Cloud",
                "python-modules": ["polars_cloud_provider.operators.polars_task"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Polars Cloud",
                "python-modules": ["polars_cloud_provider.triggers.query"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "polars_cloud_provider.hooks.polars_cloud.PolarsCloudHook",
                "hook-name": "Polars Cloud",
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
                    "workspace": {
                        "label": "Workspace",
                        "schema": {"type": ["string", "null"]},
                        "description": "The Polars Cloud workspace the queries run in.",
                    },
                    "backend": {
                        "label": "Backend",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["cloud", "local"],
                            "default": "cloud",
                        },
                        "description": "cloud: Polars Cloud. local: in-process Polars on the "
                        "worker, no service account needed (development, demos, CI).",
                    },
                    "local_root": {
                        "label": "Local root",
                        "schema": {"type": ["string", "null"]},
                        "description": "Local backend only: the folder (or s3:// prefix) for "
                        "intermediate results; default: the [polars_cloud] local_root option.",
                    },
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
