"""Limits (versioned), personal baselines and measurement plans."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from pust.db.tables._base import json_doc, timestamp, uuid_pk


class LimitSet(SQLModel, table=True):
    """A version of a citizen's limits (or a care team's group default when citizen_id is
    null). Never updated: an edit writes the next version with who, when and why."""

    __tablename__ = "limit_set"
    __table_args__ = (
        UniqueConstraint("citizen_id", "care_team_id", "version", name="uq_limit_set_version"),
    )

    id: uuid.UUID = uuid_pk()
    citizen_id: uuid.UUID | None = Field(default=None, foreign_key="citizen.id", index=True)
    care_team_id: uuid.UUID | None = Field(default=None, foreign_key="care_team.id", index=True)
    version: int
    rules: dict[str, Any] = json_doc()
    reason: str = Field(max_length=1000)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = timestamp(default_now=True)


class Baseline(SQLModel, table=True):
    """A personal baseline per type: the run-in median, or a value set by a clinician."""

    __tablename__ = "baseline"

    id: uuid.UUID = uuid_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    type: str = Field(max_length=32)
    value: float
    method: str = Field(max_length=16)  # run_in_median | clinician
    reason: str | None = Field(default=None, max_length=1000)
    set_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    set_at: datetime = timestamp(default_now=True)
    superseded_at: datetime | None = timestamp(nullable=True)


class Plan(SQLModel, table=True):
    """A version of a citizen's measurement plan; the newest is published to the tablet."""

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("citizen_id", "version", name="uq_plan_version"),)

    id: uuid.UUID = uuid_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    version: int
    schedule: dict[str, Any] = json_doc()
    reason: str = Field(default="", max_length=1000)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = timestamp(default_now=True)
