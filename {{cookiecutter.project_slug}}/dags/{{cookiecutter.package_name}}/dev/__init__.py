"""Tools for working on this project locally: sample data, a local Airflow, make demo,
make run and make new-dag (with the patterns it writes from).

Not used by the DAGs; nothing here runs in a deployment.
"""
