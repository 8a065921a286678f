"""The plumbing shared by the DAGs in this folder.

DAG files import ``compute``, ``datasets``, ``auth``, ``dag_defaults`` and ``tasks`` at the
top (all cheap), and ``queries`` inside tasks (it imports polars).
"""
