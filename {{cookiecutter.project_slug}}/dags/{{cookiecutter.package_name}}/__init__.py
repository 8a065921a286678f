"""This project's own code: its settings, datasets, query builders, DAG defaults, sample data
and local tools' entry (``dev.py``). Yours to edit; the plumbing is the provider's
(``polars_cloud_provider``).

DAG files import ``datasets``, ``dag_defaults``, ``settings`` and ``assets`` at the top (all
cheap), and the builders of ``queries`` inside their tasks (they import polars).
"""
