"""What a task does with Polars Cloud, read from its code without running it.

A task "uses compute" when its callable (or a function nested in it) refers to the
``compute`` helpers; the names it refers to tell which ones, and the ``Manifest``/``Specs``
objects it can reach tell on which cluster.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

from polars_cloud_provider import compute
from polars_cloud_provider.hooks.polars_cloud import MARKER
from polars_cloud_provider.operators.polars_task import PolarsTaskOperator

STARTS_A_CLUSTER = frozenset({"sink", "submit", "execute"})
COMPUTE_API = STARTS_A_CLUSTER | {"shutdown", "immediate_shutdown"}


def task_callable(task: Any) -> Callable[..., Any] | None:
    return getattr(task, "python_callable", None)


def is_authenticated(task: Any) -> bool:
    """A ``@polars_task`` logs in itself; a plain ``@task`` needs ``@authenticate``."""
    if isinstance(task, PolarsTaskOperator):
        return True
    return bool(getattr(task_callable(task), MARKER, False))


def compute_calls(fn: Callable[..., Any]) -> set[str]:
    """The compute helpers ``fn`` refers to, e.g. ``{"sink", "immediate_shutdown"}``."""
    names, objects = _references(fn)
    calls: set[str] = set()
    for obj in objects:
        if obj is compute:
            calls |= names & COMPUTE_API
        elif (
            getattr(obj, "__module__", None) == compute.__name__
            and getattr(obj, "__name__", None) in COMPUTE_API
        ):
            calls.add(obj.__name__)
    return calls


def clusters(fn: Callable[..., Any]) -> list[compute.Manifest | compute.Specs]:
    """The cluster descriptions ``fn`` can reach (globals, closure, defaults)."""
    _, objects = _references(fn)
    return [obj for obj in objects if isinstance(obj, compute.Manifest | compute.Specs)]


def _references(fn: Callable[..., Any]) -> tuple[set[str], list[Any]]:
    fn = inspect.unwrap(fn)
    names: set[str] = set()
    for code in _code_objects(fn.__code__):
        names.update(code.co_names)
    objects = [fn.__globals__[name] for name in names if name in fn.__globals__]
    objects += [cell.cell_contents for cell in fn.__closure__ or () if _filled(cell)]
    objects += list(fn.__defaults__ or ())
    return names, objects


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True
