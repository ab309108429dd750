"""The fast path's one schema truth: the rows it stages and the names its statements spell
come from the SQLAlchemy models.

The recorder writes rows with `jsonb_populate_recordset` and matching reads people with
statements of its own (no ORM on the hot path); a column added to a model reaches them
through here, or fails loudly. Where a typed copy of a table's columns is kept for mypy
(`logged.LoggedComplaint` and its details, `matching.Candidate`), a column it misses fails
the staging, and services/intake/tests/test_rows.py keeps each staged table's keys equal
to its columns."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any, cast

from sqlalchemy import Column, Table
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

_DIALECT = PGDialect()  # type: ignore[no-untyped-call]


def table_of(model: type[Any]) -> Table:
    """The model's Table, typed (declarative models type `__table__` loosely)."""
    return cast(Table, model.__table__)


def checked(table: Table, names: tuple[str, ...]) -> tuple[str, ...]:
    """`names`, each a column of `table`: a column renamed in the model fails at import."""
    missing = [name for name in names if name not in table.c]
    if missing:
        raise LookupError(f"{table.name} has no column {', '.join(missing)}")
    return names


def sql_type(column: Column[Any]) -> str:
    """The column's type as PostgreSQL spells it (for a record definition)."""
    return str(column.type.compile(dialect=_DIALECT))


def _value(value: Any) -> Any:
    return value


def _filler(column: Column[Any]) -> Callable[[], Any] | None:
    """How a row left without `column` is filled: the model's default, or None for a
    nullable column without defaults; a server default or a NOT NULL column has none."""
    default = column.default
    if isinstance(default, CallableColumnDefault):
        # SQLAlchemy wraps the model's callable to take an execution context it ignores.
        return partial(default.arg, None)  # type: ignore[arg-type]
    if isinstance(default, ScalarElementColumnDefault):
        return partial(_value, default.arg)
    if column.nullable and column.server_default is None:
        return partial(_value, None)
    return None


@cache
def _fillers(table: Table) -> tuple[tuple[str, Callable[[], Any] | None], ...]:
    return tuple((column.key, _filler(column)) for column in table.columns)


def row_of(model: type[Any], **values: Any) -> dict[str, Any]:
    """A complete row of the model's table, as an INSERT through the ORM would write it:
    the values given, else the model's default. A column only the database could fill (a
    server default, NOT NULL) must be given: the statement writes every column, so a
    column left out would be written as NULL, its server default silently bypassed."""
    row: dict[str, Any] = {}
    for name, fill in _fillers(table_of(model)):
        if name in values:
            row[name] = values.pop(name)
        elif fill is not None:
            row[name] = fill()
        else:
            raise ValueError(f"a staged {model.__name__} row needs {name}")
    if values:
        raise ValueError(f"{model.__name__} has no column {', '.join(sorted(values))}")
    return row
