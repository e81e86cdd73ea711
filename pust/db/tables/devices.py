"""Tablets, their Bluetooth peripherals, and which citizen a tablet belongs to when."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from pust.db.tables._base import big_pk, json_doc, timestamp, uuid_pk


class Device(SQLModel, table=True):
    __tablename__ = "device"

    id: str = Field(primary_key=True, max_length=64)  # the device_id = MQTT username
    status: str = Field(default="active", max_length=16)  # active | revoked | retired
    # argon2 hash of the device's MQTT password (the embedded broker checks it)
    mqtt_password_hash: str | None = Field(default=None, max_length=255)
    # the same password sealed with AES-GCM under a key derived from PUST_SECRET_KEY
    # (pust.db.device_credentials.PasswordSeal): the broker channel of the outbox and the
    # reconcile job set it on Mosquitto's dynamic security, which cannot take a hash
    mqtt_password_sealed: str | None = Field(default=None, max_length=255)
    enrolled_at: datetime = timestamp(default_now=True)
    # the broker's client as last seen by the broker channel or the reconcile job:
    # enabled | disabled | missing | unreachable (None: never looked at, or the embedded
    # broker, which reads this table itself)
    broker_state: str | None = Field(default=None, max_length=16)
    broker_checked_at: datetime | None = timestamp(nullable=True)
    last_seen_at: datetime | None = timestamp(nullable=True, index=True)
    battery_pct: int | None = None
    app_version: str | None = Field(default=None, max_length=40)
    outbox_depth: int | None = None
    clock_synced: bool | None = None
    online: bool | None = None
    presence_changed_at: datetime | None = timestamp(nullable=True)


class Peripheral(SQLModel, table=True):
    __tablename__ = "peripheral"
    __table_args__ = (
        UniqueConstraint("device_id", "system_id", name="uq_peripheral_device_system"),
    )

    id: int | None = big_pk()
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    system_id: str = Field(max_length=64)  # IEEE EUI-64 or Bluetooth MAC
    model: str | None = Field(default=None, max_length=120)
    serial: str | None = Field(default=None, max_length=120)
    first_seen_at: datetime = timestamp(default_now=True)
    last_seen_at: datetime = timestamp(default_now=True)


class DeviceAssignment(SQLModel, table=True):
    """A tablet belongs to a citizen from valid_from until valid_to (open = still)."""

    __tablename__ = "device_assignment"

    id: uuid.UUID = uuid_pk()
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    valid_from: datetime = timestamp()
    valid_to: datetime | None = timestamp(nullable=True)
    assigned_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")


class PairingCode(SQLModel, table=True):
    """A one-time code that a tablet exchanges for its MQTT credentials (POST
    /api/v1/enrolment/pair). Only a hash of the code is kept; it is valid until
    ``expires_at`` and only once (``used_at``)."""

    __tablename__ = "pairing_code"

    id: uuid.UUID = uuid_pk()
    code_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the code
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = timestamp()
    expires_at: datetime = timestamp()
    used_at: datetime | None = timestamp(nullable=True)
    device_id: str | None = Field(default=None, max_length=64)  # the tablet that used it


class BrokerReconcileRun(SQLModel, table=True):
    """One run of the reconcile job (broker vs. registry), for the administration page."""

    __tablename__ = "broker_reconcile_run"

    id: int | None = big_pk()
    started_at: datetime = timestamp(index=True)
    finished_at: datetime = timestamp()
    ok: bool
    # drifted devices per kind (pust.messaging.broker_provisioning.Drift), repaired
    drift: dict[str, int] = json_doc()
    error: str | None = Field(default=None, max_length=500)


class RegionalDevice(SQLModel, table=True):
    """A device as the regional backend (FUT's device service) knows it: learned once per
    device (looked up by identifier, created if missing), then referenced literally
    (``https://device.…/fhir/Device/70544``) in every submission (pust/fhir/devices.py)."""

    __tablename__ = "regional_device"

    identifier_system: str = Field(primary_key=True, max_length=200)
    identifier_value: str = Field(primary_key=True, max_length=200)
    reference: str = Field(max_length=500)
    learned_at: datetime = timestamp(default_now=True)
