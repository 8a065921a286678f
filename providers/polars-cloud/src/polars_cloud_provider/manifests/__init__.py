"""Compute manifests as code: ``manifests.toml``, checked (``spec``), compared with Polars Cloud
and registered (``sync``) by ``python -m polars_cloud_provider.manifests`` or a worker (``worker``).
Not imported by DAG files: they refer to a manifest by name (``compute.Manifest``)."""
