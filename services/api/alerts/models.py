"""Schemas of alerts and the nurses' actions on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from pust.domain.alert_lifecycle import Outcome


class AlertBase(BaseModel):
    kind: str
    rule_key: str
    severity: str
    status: str


class AlertPublic(AlertBase):
    id: uuid.UUID
    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    device_id: str | None
    band_order: int
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
    last_value: float | None
    reasons: list[dict[str, Any]]
    late: bool
    claimed_by: uuid.UUID | None
    claimed_at: datetime | None
    acknowledged_by: uuid.UUID | None
    acknowledged_at: datetime | None
    acknowledge_note: str | None
    resolved_by: uuid.UUID | None
    resolved_at: datetime | None
    outcome: str | None
    resolve_note: str | None
    escalation_level: int
    lock_version: int


class AlertEventPublic(BaseModel):
    id: int
    at: datetime
    kind: str
    actor_id: uuid.UUID | None
    detail: dict[str, Any]


class AlertClaimCreate(BaseModel):
    expected_version: int = Field(ge=1, description="The lock_version the caller last saw")
    take_over: bool = False


class AlertAcknowledgeCreate(BaseModel):
    expected_version: int = Field(ge=1, description="The lock_version the caller last saw")
    note: str | None = Field(default=None, max_length=4000)
    notify_citizen: bool = Field(
        default=False, description="Send the citizen's tablet an 'acknowledged' notice"
    )


class AlertResolveCreate(BaseModel):
    expected_version: int = Field(ge=1, description="The lock_version the caller last saw")
    outcome: Outcome
    note: str | None = Field(default=None, max_length=4000)


class AlertReopenCreate(BaseModel):
    expected_version: int = Field(ge=1, description="The lock_version the caller last saw")
    reason: str = Field(min_length=3, max_length=1000)
