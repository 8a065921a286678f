"""This project's own code, yours to edit: settings, datasets, query builders, DAG defaults,
sample data and the local tools' entry (``dev.py``); the plumbing is the provider's. DAG files
import the cheap modules at the top and the builders of ``queries`` inside their tasks.
"""
