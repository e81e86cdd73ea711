"""Lean Core statements for the hot paths: a model's plain table (its columns select tuples,
not through the ORM's loading), and ``column IN (…)`` as one array parameter on PostgreSQL.

An ``IN`` list is one bind parameter per value: its statement text changes with the number
of values, so neither SQLAlchemy's compiled cache, psycopg's query conversion cache nor the
server's prepared plans are reused, and every value is rendered one by one.
``column = ANY(:values::type[])`` is one parameter: the same text for any count.
SQLite keeps the ``IN`` list (it has no arrays)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (none: false)."""
    items = list(values)
    if session.get_bind().dialect.name == "postgresql":
        # psycopg's dialect renders the parameter as ``%(…)s::TYPE[]``
        result: ColumnElement[bool] = column == any_(
            bindparam(None, items, type_=ARRAY(column.type))
        )
        return result
    found: ColumnElement[bool] = column.in_(items)
    return found


def table_of(model: type[Any]) -> Table:
    """The table of a SQLModel table class (``select(table.c.x)`` is a Core statement)."""
    table: Table = model.__table__
    return table
