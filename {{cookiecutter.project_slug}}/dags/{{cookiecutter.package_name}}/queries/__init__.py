"""Query builders: pure functions from LazyFrames to a LazyFrame, one module per pipeline.

They import only polars and know nothing of Airflow, Polars Cloud or storage, so tests run
them on small in-memory frames. Edit a builder (and the DAG file that calls it) to change what
a pipeline computes. DAG files import them inside their tasks: polars at the top of a DAG file
would slow down every parse.
"""
