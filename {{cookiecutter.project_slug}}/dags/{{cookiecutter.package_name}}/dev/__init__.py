"""Tools for working on this project locally: sample data, a local Airflow, the demo.

Not used by the DAGs; nothing here runs in a deployment.
"""
