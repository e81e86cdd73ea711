"""The audit log: append-only (database triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from pust.db.tables._base import big_pk, timestamp


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_citizen_time", "citizen_id", "at"),)

    id: int | None = big_pk()
    at: datetime = timestamp()
    actor_id: uuid.UUID | None = None
    actor_username: str = Field(max_length=120)
    actor_role: str = Field(max_length=32)
    care_team_id: uuid.UUID | None = None
    citizen_id: uuid.UUID | None = None
    action: str = Field(max_length=64)  # e.g. citizen.read, alert.acknowledge
    resource_type: str = Field(max_length=64)
    resource_id: str | None = Field(default=None, max_length=200)
    outcome: str = Field(max_length=16)  # success | denied | failed
    request_id: str | None = Field(default=None, max_length=64)
