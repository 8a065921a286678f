"""The provider without its extra ``openlineage``: the operator answers the listener's
methods with None, a task records nothing it will not use, and cloud queries carry no
lineage. Absence is simulated the way Python sees it: the imports raise ImportError."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from polars_cloud_provider import lineage
from polars_cloud_provider.operators.polars_task import PolarsTaskOperator


@pytest.fixture
def without_openlineage(monkeypatch) -> None:
    for name in ("airflow.providers.openlineage", "polars_cloud_provider.lineage.facets"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    # `from polars_cloud_provider.lineage import facets` reads the package's attribute before
    # sys.modules: once an earlier test of the process imported facets, only this hides it.
    monkeypatch.delattr(lineage, "facets", raising=False)


def test_the_operator_answers_none_and_the_task_runs_without_a_parent(
    without_openlineage,
) -> None:
    operator = PolarsTaskOperator(task_id="t", python_callable=lambda: None)

    assert operator.get_openlineage_facets_on_start() is None
    assert operator.get_openlineage_facets_on_complete(None) is None
    assert lineage.enabled() is False
    assert lineage.parent_job({"ti": object()}) is None


def test_a_remote_query_is_left_as_it_is_without_a_parent(without_openlineage) -> None:
    class Remote:  # would fail the test if called
        def with_lineage(self, **kwargs):
            raise AssertionError("with_lineage called without an OpenLineage parent")

    given = Remote()
    assert lineage.nest(given) is given  # outside any task
    with lineage.recording(SimpleNamespace(), context={}):
        assert lineage.nest(given) is given  # OpenLineage off
