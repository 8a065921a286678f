"""OpenLineage for ``@polars_task``: what each task read and wrote, and its queries.

Nothing here imports OpenLineage at module import, and nothing runs unless the OpenLineage
provider (the extra ``openlineage``) is installed *and* a transport is configured:

- ``recorder``: while a task body runs, the URIs it scans (no Airflow, no OpenLineage);
- ``naming``: a URI as an OpenLineage dataset (namespace, name), per the naming spec;
- ``task``: the operator's side: the task's OpenLineage run and job, and its facets;
- ``remote``: Polars Cloud queries nest under the task's run (``with_lineage``);
- ``facets``: the OpenLineage objects (imported only when the provider is installed).
"""
