"""Apache Airflow provider for Polars Cloud: run Polars queries on Polars Cloud, or in-process
with the local engine, from Airflow tasks.

- ``hooks.polars_cloud``: the ``polars_cloud`` connection and ``PolarsCloudHook``;
- ``decorators.polars_task``: ``@polars_task`` (``@task.polars_cloud``) and ``shutdown_cluster``;
- ``operators.polars_task``: the operator behind it (cancel on kill, deferral, reattach);
- ``triggers.query``, ``links.query``: the deferred wait and the query's extra link;
- ``compute``: what a task body calls (``sink``, ``execute``, ``submit``, ``Manifest``...);
- ``engines``: Polars Cloud (the only module importing ``polars_cloud``) and the local engine;
- ``manifests``: compute manifests as code (``python -m polars_cloud_provider.manifests``).
"""

from __future__ import annotations

__version__ = "0.2.0"
