"""Devices, their assignments and pairing codes as the enrolment use cases see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, select

from pust.db import device_enrolment
from pust.db.device_credentials import PasswordSeal
from pust.db.outbox import enqueue_broker_sync
from pust.db.tables import AuditEvent, Citizen, Device, DeviceAssignment, PairingCode
from services.api.citizens.service import active_assignment


class EnrolmentRepository(Protocol):
    def device(self, device_id: str) -> Device | None: ...

    def add_device(self, device: Device, *, now: datetime) -> None:
        """Stored at once; the broker is told (a client that cannot log in yet)."""

    def holder(self, device_id: str) -> uuid.UUID | None:
        """The citizen the tablet is assigned to now (the citizen's tablet: ``uow.tablets``)."""

    def assign(
        self, *, device_id: str, citizen_id: uuid.UUID, now: datetime, by: uuid.UUID | None
    ) -> None: ...

    def add_code(self, code: PairingCode) -> None: ...

    def code(self, code_hash: str) -> PairingCode | None:
        """The code with this hash, locked for the rest of the transaction."""

    def issue_password(self, device: Device, *, now: datetime) -> str: ...

    def revoke(self, device: Device, *, now: datetime) -> None: ...

    def device_event(self, *, device_id: str, citizen: Citizen, now: datetime, action: str) -> None:
        """An audit event whose actor is the tablet itself (pairing has no staff member)."""


class SqlEnrolmentRepository:
    def __init__(self, session: Session, *, seal: PasswordSeal) -> None:
        self._session = session
        self._seal = seal

    def device(self, device_id: str) -> Device | None:
        return self._session.get(Device, device_id, with_for_update=True)

    def add_device(self, device: Device, *, now: datetime) -> None:
        self._session.add(device)
        self._session.flush()
        enqueue_broker_sync(self._session, device_id=device.id, now=now)

    def holder(self, device_id: str) -> uuid.UUID | None:
        assignment = active_assignment(self._session, device_id)
        return assignment.citizen_id if assignment is not None else None

    def assign(
        self, *, device_id: str, citizen_id: uuid.UUID, now: datetime, by: uuid.UUID | None
    ) -> None:
        self._session.add(
            DeviceAssignment(
                device_id=device_id, citizen_id=citizen_id, valid_from=now, assigned_by=by
            )
        )

    def add_code(self, code: PairingCode) -> None:
        self._session.add(code)
        self._session.flush()

    def code(self, code_hash: str) -> PairingCode | None:
        return self._session.exec(
            select(PairingCode).where(PairingCode.code_hash == code_hash).with_for_update()
        ).first()

    def issue_password(self, device: Device, *, now: datetime) -> str:
        return device_enrolment.issue_password(self._session, device, seal=self._seal, now=now)

    def revoke(self, device: Device, *, now: datetime) -> None:
        device_enrolment.revoke(self._session, device, now=now)

    def device_event(self, *, device_id: str, citizen: Citizen, now: datetime, action: str) -> None:
        self._session.add(
            AuditEvent(
                at=now,
                actor_id=None,
                actor_username=f"device:{device_id}"[:120],
                actor_role="device",
                care_team_id=citizen.care_team_id,
                citizen_id=citizen.id,
                action=action,
                resource_type="device",
                resource_id=device_id,
                outcome="success",
            )
        )
