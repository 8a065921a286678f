"""OpenLineage for ``@polars_task`` (the extra ``openlineage``; README, "Lineage"): nothing
here imports OpenLineage at import time, nor runs unless a transport is configured."""
