"""Citizens, their regional (FHIR) identifiers, notes and monitoring pauses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from pust.db.tables._base import json_doc, timestamp, uuid_pk
from pust.db.types import CprType
from pust.domain.cpr import Cpr


class Citizen(SQLModel, table=True):
    __tablename__ = "citizen"
    model_config = {"arbitrary_types_allowed": True}

    id: uuid.UUID = uuid_pk()
    care_team_id: uuid.UUID = Field(foreign_key="care_team.id", index=True)
    # never logged: Cpr masks itself in str/repr
    cpr: Cpr = Field(sa_type=CprType, unique=True)
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    status: str = Field(default="active", max_length=16)  # active | ended
    monitoring_started_at: datetime = timestamp(default_now=True)
    created_at: datetime = timestamp(default_now=True)
    lock_version: int = Field(default=1)


class RegionalLink(SQLModel, table=True):
    """Identifiers of the citizen in the regional FHIR backend (FUT), set when linked."""

    __tablename__ = "regional_link"

    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", primary_key=True)
    patient_reference: str = Field(max_length=500)
    episode_of_care_reference: str = Field(max_length=500)
    # measurement type -> ServiceRequest reference
    service_requests: dict[str, Any] = json_doc()
    care_team_reference: str | None = Field(default=None, max_length=500)
    linked_at: datetime = timestamp(default_now=True)


class CitizenNote(SQLModel, table=True):
    __tablename__ = "citizen_note"

    id: uuid.UUID = uuid_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    author_id: uuid.UUID = Field(foreign_key="staff_user.id")
    text: str = Field(max_length=4000)
    remind_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp(default_now=True)


class PausePeriod(SQLModel, table=True):
    """Admission, holiday: suppresses missed-measurement alerts while it lasts."""

    __tablename__ = "pause_period"

    id: uuid.UUID = uuid_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    starts_at: datetime = timestamp()
    ends_at: datetime | None = timestamp(nullable=True)
    reason: str = Field(max_length=500)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = timestamp(default_now=True)
