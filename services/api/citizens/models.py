"""Schemas of citizens and their records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from pust.domain.cpr import Cpr, InvalidCpr


class CitizenBase(BaseModel):
    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class CitizenCreate(CitizenBase):
    care_team_id: uuid.UUID
    cpr: str = Field(
        description="Ten digits, DDMMYY-SSSS or DDMMYYSSSS", pattern=r"^[0-9]{6}-?[0-9]{4}$"
    )

    @field_validator("cpr")
    @classmethod
    def _valid_cpr(cls, value: str) -> str:
        try:
            return Cpr(value).reveal()
        except InvalidCpr as exc:
            raise ValueError(str(exc)) from exc


class CitizenUpdate(BaseModel):
    expected_version: int = Field(ge=1, description="The lock_version the caller last saw")
    given_name: str | None = Field(default=None, min_length=1, max_length=200)
    family_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    status: Literal["active", "ended"] | None = None
    care_team_id: uuid.UUID | None = None


class CitizenPublic(CitizenBase):
    id: uuid.UUID
    care_team_id: uuid.UUID
    cpr: str
    status: str
    monitoring_started_at: datetime
    lock_version: int
    device_id: str | None
    paused: bool


class ReadingPublic(BaseModel):
    id: int
    citizen_id: uuid.UUID
    device_id: str
    type: str
    value: float
    unit: str
    original_value: float
    original_unit: str
    measured_at: datetime
    received_at: datetime
    entry: str
    late: bool
    valid: bool
    invalid_reason: str | None
    severity: str | None
    reasons: list[dict[str, Any]] = Field(default_factory=list)


class ReadingInvalidate(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class QuestionnaireResponsePublic(BaseModel):
    id: int
    citizen_id: uuid.UUID
    questionnaire: str
    answered_at: datetime
    received_at: datetime
    answers: list[dict[str, Any]]
    late: bool
    valid: bool
    severity: str | None


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    remind_at: datetime | None = None


class NotePublic(BaseModel):
    id: uuid.UUID
    citizen_id: uuid.UUID
    author_id: uuid.UUID
    text: str
    remind_at: datetime | None
    created_at: datetime


class PauseCreate(BaseModel):
    starts_at: datetime
    ends_at: datetime | None = None
    reason: str = Field(min_length=2, max_length=500)


class PausePublic(BaseModel):
    id: uuid.UUID
    citizen_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime | None
    reason: str
    created_by: uuid.UUID | None


class MessageCreate(BaseModel):
    text: str = Field(min_length=1, max_length=500)
    kind: Literal["message", "contact_clinic"] = "message"


class MessagePublic(BaseModel):
    notice_id: uuid.UUID
    device_id: str


class LimitSetPublic(BaseModel):
    id: uuid.UUID
    citizen_id: uuid.UUID | None
    version: int
    rules: dict[str, Any]
    reason: str
    created_by: uuid.UUID | None
    created_at: datetime


class LimitSetUpdate(BaseModel):
    expected_version: int = Field(ge=0, description="The version the caller last saw")
    rules: dict[str, Any]
    reason: str = Field(min_length=3, max_length=1000)


class PlanPublic(BaseModel):
    id: uuid.UUID
    citizen_id: uuid.UUID
    version: int
    schedule: dict[str, Any]
    reason: str
    created_by: uuid.UUID | None
    created_at: datetime


class PlanUpdate(BaseModel):
    expected_version: int = Field(ge=0, description="The version the caller last saw")
    plan: dict[str, Any]
    reason: str = Field(min_length=3, max_length=1000)


class AccessEventPublic(BaseModel):
    at: datetime
    actor_username: str
    actor_role: str
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
