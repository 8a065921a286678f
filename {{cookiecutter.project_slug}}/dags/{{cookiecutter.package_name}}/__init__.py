"""The plumbing shared by the DAGs in this folder.

DAG files import ``compute``, ``datasets``, ``dag_defaults`` and ``tasks`` at the top (all
cheap), and the builders of ``queries`` inside their tasks (they import polars).
"""
