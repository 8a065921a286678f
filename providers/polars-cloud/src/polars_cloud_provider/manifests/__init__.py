"""Compute manifests as code: ``manifests.toml`` at the project root, registered with
``python -m polars_cloud_provider.manifests`` (``make manifests``).

- ``spec``: read and check the file (no network).
- ``sync``: compare with what Polars Cloud holds and register what changed.
- ``__main__``: the command line, authentication and exit codes.

Not imported by DAG files: the DAGs only refer to a manifest by name (``compute.Manifest``).
"""
