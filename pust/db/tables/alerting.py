"""Tables of the alerts service: the measurement slots a plan promised, decided once each."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from pust.db.tables._base import big_pk, timestamp


class ExpectedMeasurement(SQLModel, table=True):
    """One due time of a citizen's plan. Unique per citizen and due time, so sweeps that run
    twice (or in two replicas) create and decide each slot once."""

    __tablename__ = "expected_measurement"
    __table_args__ = (
        UniqueConstraint("citizen_id", "due_at", name="uq_expected_measurement_slot"),
        Index(
            "ix_expected_measurement_pending",
            "due_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: int | None = big_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id")
    due_at: datetime = timestamp()
    plan_version: int
    status: str = Field(default="pending", max_length=8)  # pending | met | missed | paused
    decided_at: datetime | None = timestamp(nullable=True)
    alert_id: uuid.UUID | None = Field(default=None, foreign_key="alert.id")
