"""INSERT … ON CONFLICT DO NOTHING RETURNING for many rows, the fastest correct way per database.

PostgreSQL gets one fixed statement over ``unnest`` of one array per column: a single round
trip whatever the batch size, and a statement text that does not grow with the batch (a
multi-row VALUES list makes the driver re-parse a huge query every time). SQLite gets
SQLAlchemy's multi-row insert. Values bypass the column types' Python processing, so the
caller passes what the columns store: timezone-aware UTC datetimes, UUIDs, plain values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError


def insert_ignoring_conflicts(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all with the same keys), skip those that break a unique constraint,
    and return ``returning`` of the rows that were inserted."""
    if not rows:
        return []
    if connection.dialect.name == "postgresql":
        return _insert_unnest(connection, table, rows, returning)
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing()
        .returning(*(table.c[name] for name in returning))
    )
    return [tuple(row) for row in connection.execute(statement, list(rows))]


def _insert_unnest(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    columns = tuple(rows[0])
    arrays = tuple([row[column] for row in rows] for column in columns)
    sql = _unnest_statement(table, columns, tuple(returning), connection.dialect)
    # binary parameters: psycopg's text format escapes every array element in Python
    driver_connection: Any = connection.connection.driver_connection
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        with driver_connection.cursor(binary=True) as cursor:
            cursor.execute(sql, arrays)
            return [tuple(row) for row in cursor.fetchall()]
    except dbapi_error as exc:
        # the same exception tree as every other statement (OperationalError → retry, …),
        # and never the values in its text: they are health data
        raise DBAPIError.instance(
            sql, None, exc, dbapi_error, hide_parameters=True, dialect=connection.dialect
        ) from exc


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@functools.lru_cache(maxsize=64)
def _unnest_statement(
    table: Table, columns: tuple[str, ...], returning: tuple[str, ...], dialect: Dialect
) -> str:
    casts = ", ".join(f"%s::{_array_type(table, column, dialect)}" for column in columns)
    names = ", ".join(_quoted(column) for column in columns)
    returned = ", ".join(_quoted(column) for column in returning)
    # identifiers come from our own table definitions, values travel as parameters
    return (
        f"INSERT INTO {_quoted(table.name)} ({names}) SELECT * FROM unnest({casts}) "  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING {returned}"
    )


def _array_type(table: Table, column: str, dialect: Dialect) -> str:
    # without the length: an explicit cast to varchar(n) truncates silently, while the
    # insert into the varchar(n) column refuses a value that is too long
    compiled = table.c[column].type.compile(dialect=dialect)
    return re.sub(r"\(\d+\)", "", compiled) + "[]"
