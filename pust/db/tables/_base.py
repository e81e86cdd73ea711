"""Shared column helpers for the table modules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Field

from pust.db.types import BigId, JsonDocument, UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def big_pk() -> Any:
    return Field(default=None, primary_key=True, sa_type=BigId)


def timestamp(*, nullable: bool = False, index: bool = False, default_now: bool = False) -> Any:
    if default_now:
        return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=nullable, index=index)
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def json_doc(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_type=JsonDocument, nullable=nullable)
