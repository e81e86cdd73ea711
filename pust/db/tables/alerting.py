"""Tables of the alerts service: the measurement slots a plan promised, decided once each,
and each care team's missed-measurement policy (versioned like limits)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from pust.db.tables._base import big_pk, json_doc, timestamp, uuid_pk


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
    # when the citizen's tablet was reminded of this missed slot (the notice is in the outbox)
    reminded_at: datetime | None = timestamp(nullable=True)


class MissedMeasurementPolicyVersion(SQLModel, table=True):
    """A version of a care team's missed-measurement policy
    (:class:`pust.domain.missed_measurement_policy.MissedMeasurementPolicy` as JSON). Never
    updated: an edit writes the next version with who, when and why; the newest is in
    force, the older ones stay. No row: the default policy."""

    __tablename__ = "missed_measurement_policy"
    __table_args__ = (
        UniqueConstraint("care_team_id", "version", name="uq_missed_measurement_policy_version"),
    )

    id: uuid.UUID = uuid_pk()
    care_team_id: uuid.UUID = Field(foreign_key="care_team.id", index=True)
    version: int
    policy: dict[str, Any] = json_doc()
    reason: str = Field(max_length=1000)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = timestamp(default_now=True)
