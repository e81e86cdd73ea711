"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Dialect, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.types import DateTime, TypeDecorator

from pust.domain.cpr import Cpr

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")

Blob = LargeBinary().with_variant(BYTEA(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zone type; without this, the same query returns aware datetimes on
    PostgreSQL and naive ones on SQLite. Naive input is refused: it is always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class CprType(TypeDecorator[Cpr]):
    """Stores a :class:`~pust.domain.cpr.Cpr` as its ten digits; loads it masked."""

    impl = String(10)
    cache_ok = True

    def process_bind_param(self, value: Cpr | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Cpr):
            raise TypeError("CPR columns take a Cpr value object")
        return value.reveal()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Cpr | None:
        return None if value is None else Cpr(value)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        return self
