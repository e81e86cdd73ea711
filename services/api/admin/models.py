"""Schemas of the administration endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

RoleName = Literal["nurse", "team_lead", "administrator", "integrator"]


class CareTeamBase(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    timezone: str = Field(default="Europe/Copenhagen", max_length=64)


class CareTeamCreate(CareTeamBase):
    pass


class CareTeamUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)


class CareTeamPublic(CareTeamBase):
    id: uuid.UUID
    operating_mode: str
    created_at: datetime


class StaffBase(BaseModel):
    username: str = Field(min_length=2, max_length=120, pattern=r"^[a-z0-9][a-z0-9._-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: RoleName
    email: str | None = Field(default=None, max_length=320)


class StaffCreate(StaffBase):
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    oidc_issuer: str | None = Field(default=None, max_length=500)
    oidc_subject: str | None = Field(default=None, max_length=255)
    care_team_ids: list[uuid.UUID] = Field(default_factory=list)


class StaffUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: RoleName | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    care_team_ids: list[uuid.UUID] | None = None
    unlock: bool = False


class StaffPublic(StaffBase):
    id: uuid.UUID
    active: bool
    care_team_ids: list[uuid.UUID]
    # logins to the account wait until then (from unfamiliar addresses, or after failures
    # from one address); an administrator's unlock clears it
    locked_until: datetime | None
    oidc_subject: str | None


class PeripheralPublic(BaseModel):
    system_id: str
    model: str | None
    serial: str | None
    last_seen_at: datetime


class DevicePublic(BaseModel):
    id: str
    status: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    battery_pct: int | None
    app_version: str | None
    outbox_depth: int | None
    clock_synced: bool | None
    online: bool | None
    # the broker's client as last seen (Mosquitto): enabled | disabled; None: the embedded
    # broker, which reads the registry itself
    broker_state: str | None = None
    broker_checked_at: datetime | None = None
    citizen_id: uuid.UUID | None = Field(
        default=None, description="The citizen holding it now, if the caller may see them"
    )
    peripherals: list[PeripheralPublic] = Field(default_factory=list)


class DeviceCreate(BaseModel):
    device_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")
    mqtt_password: str = Field(min_length=12, max_length=200)


class DeviceAssign(BaseModel):
    citizen_id: uuid.UUID


class QuarantinedMessagePublic(BaseModel):
    id: int
    device_id: str | None
    topic: str
    message_id: str | None
    payload_size: int
    truncated: bool
    errors: list[dict[str, Any]]
    received_at: datetime
    payload_text: str | None = Field(default=None, description="The payload, when it is UTF-8")
