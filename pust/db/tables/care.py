"""Care teams (nurse clinics), staff users and their team memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from pust.db.tables._base import json_doc, timestamp, uuid_pk


class CareTeam(SQLModel, table=True):
    __tablename__ = "care_team"

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=200, unique=True)
    timezone: str = Field(default="Europe/Copenhagen", max_length=64)
    # standalone: pust triages and nurses work in pust; bridged: pust forwards to the regional
    # backend, which triages; both: during a transition
    operating_mode: str = Field(default="standalone", max_length=16)
    created_at: datetime = timestamp(default_now=True)


class CareTeamRouting(SQLModel, table=True):
    """Opening hours, holidays, escalation steps and out-of-hours routing, as data."""

    __tablename__ = "care_team_routing"

    care_team_id: uuid.UUID = Field(foreign_key="care_team.id", primary_key=True)
    version: int = Field(default=1)
    policy: dict[str, Any] = json_doc()
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    updated_at: datetime = timestamp(default_now=True)


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: uuid.UUID = uuid_pk()
    username: str = Field(max_length=120, unique=True)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=32)  # nurse | team_lead | administrator | integrator
    password_hash: str | None = Field(default=None, max_length=255)
    oidc_issuer: str | None = Field(default=None, max_length=500)
    oidc_subject: str | None = Field(default=None, max_length=255, index=True)
    active: bool = Field(default=True)
    email: str | None = Field(default=None, max_length=320)
    created_at: datetime = timestamp(default_now=True)


class StaffMembership(SQLModel, table=True):
    __tablename__ = "staff_membership"

    staff_id: uuid.UUID = Field(foreign_key="staff_user.id", primary_key=True)
    care_team_id: uuid.UUID = Field(foreign_key="care_team.id", primary_key=True, index=True)
