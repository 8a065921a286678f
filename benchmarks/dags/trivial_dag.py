"""The baseline: the smallest TaskFlow DAG, one task, nothing imported but Airflow."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, task


@dag(schedule="@daily", start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False)
def trivial_dag() -> None:
    @task()
    def hello() -> str:
        return "hello"

    hello()


trivial_dag()
